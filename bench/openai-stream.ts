/** A chat completion streamed with the stock openai client, as a caller of Silkworm would. */
import type OpenAI from 'openai';

/** The request fields the bench sends (stream options are added here). */
export type OpenAiChatRequest = Omit<OpenAI.ChatCompletionCreateParamsStreaming, 'stream' | 'stream_options'>;

/** Streams `request` through `client`; `onText` hears every delta; resolves with the usage's completion tokens. */
export async function streamWithOpenAi(client: OpenAI, request: OpenAiChatRequest, onText: (text: string) => void): Promise<number> {
  const stream = await client.chat.completions.create({ ...request, stream: true, stream_options: { include_usage: true } });
  let tokens = 0;
  for await (const chunk of stream) {
    onText(chunk.choices[0]?.delta.content ?? '');
    if (chunk.usage) tokens = chunk.usage.completion_tokens;
  }
  return tokens;
}
