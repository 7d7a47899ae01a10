/**
 * Adapter: a decoded frame -> packed RGB of its machine view (swscale, area filter).
 * Kept apart from the pure view helpers (machine-view.ts) so the analysis worker, which
 * receives views already scaled, does not load node-av (~130 ms of its start-up).
 */
import { Scaler } from 'node-av/api';
import { SWS_AREA } from 'node-av/constants';
import type { Frame } from 'node-av/lib';
import type { ViewSize } from './machine-view.ts';

/** Frame -> packed RGB at a given size. One instance per run; reuses swscale contexts. */
export class FrameRgbScaler {
  private readonly scaler = new Scaler({ flags: SWS_AREA });

  async rgb(frame: Frame, size: ViewSize): Promise<Uint8Array> {
    const buf = await this.scaler.toBuffer(frame, { resize: size, format: 'rgb' });
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  close(): void {
    this.scaler.close();
  }
}
