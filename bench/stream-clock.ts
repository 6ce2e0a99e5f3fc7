/** Times one streamed answer where its caller sees it: first text, last text, end. */

/** What the clock measured. */
export interface Timing {
  text: string;
  /** Completion tokens as the engine counted them (usage). */
  tokens: number;
  /** Call → first non-empty text. */
  ttftMs: number;
  /** Call → call finished (stream ended, usage received). */
  totalMs: number;
  /** (tokens − 1) ÷ (last text − first text): generation speed once streaming. */
  decodeTps: number;
  /** tokens ÷ totalMs: what a caller gets per second of request. */
  requestTps: number;
}

/** Start it just before the call, feed it every piece of text, finish it when the call ends. */
export class StreamClock {
  readonly started = performance.now();
  private first = 0;
  private last = 0;
  private text = '';

  /** Records a piece of streamed text (empty pieces are not text). */
  onText(text: string): void {
    if (text === '') return;
    const now = performance.now();
    if (this.first === 0) this.first = now;
    this.last = now;
    this.text += text;
  }

  /** Stops the clock; `tokens` is the completion token count the engine reported. */
  finish(tokens: number): Timing {
    const totalMs = performance.now() - this.started;
    const streamMs = this.last - this.first;
    return {
      text: this.text,
      tokens,
      ttftMs: this.first - this.started,
      totalMs,
      decodeTps: streamMs > 0 ? ((tokens - 1) * 1000) / streamMs : Number.NaN,
      requestTps: (tokens * 1000) / totalMs,
    };
  }
}
