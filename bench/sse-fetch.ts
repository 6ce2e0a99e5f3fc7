/**
 * A chat completion streamed with plain `fetch` and a minimal SSE reader: the served path
 * without the openai SDK, to tell the SDK's own cost apart from the network's.
 */

/** The request body fields this reader sends (OpenAI chat completions). */
export interface FetchChatRequest {
  model: string;
  messages: { role: string; content: string }[];
  max_tokens: number;
  temperature: number;
  seed: number;
  response_format?: OpenAiResponseFormat;
}

/** `response_format` of a chat completion request, as far as the bench sends it. */
export type OpenAiResponseFormat = { type: 'json_object' } | { type: 'json_schema'; json_schema: { name: string; schema: Record<string, unknown> } };

interface StreamedChunk {
  choices?: { delta?: { content?: string } }[];
  usage?: { completion_tokens: number };
  error?: { message: string };
}

/** Streams `request` from `baseUrl` (…/v1); `onText` hears every delta; resolves with usage tokens. */
export async function streamWithFetch(baseUrl: string, apiKey: string, request: FetchChatRequest, onText: (text: string) => void): Promise<number> {
  const response = await fetch(`${baseUrl}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` },
    body: JSON.stringify({ ...request, stream: true, stream_options: { include_usage: true } }),
  });
  if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}: ${await response.text()}`);
  const decoder = new TextDecoder();
  let buffer = '';
  let tokens = 0;
  for await (const bytes of response.body) {
    buffer += decoder.decode(bytes, { stream: true });
    for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
      const event = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = event.startsWith('data: ') ? event.slice(6) : '';
      if (data === '' || data === '[DONE]') continue;
      const chunk = JSON.parse(data) as StreamedChunk;
      if (chunk.error) throw new Error(chunk.error.message);
      onText(chunk.choices?.[0]?.delta?.content ?? '');
      if (chunk.usage) tokens = chunk.usage.completion_tokens;
    }
  }
  return tokens;
}
