/**
 * A QR code as an inline `<svg>` (the CSP allows no inline scripts and only `data:`/self
 * images; an svg element needs neither). The modules come from the `qrcode` package and are
 * drawn as one path, dark on white with the standard 4-module quiet zone in either theme,
 * because phone cameras read dark-on-light best.
 */
import { useMemo } from 'react';
import QRCode from 'qrcode';

const QUIET_ZONE = 4;

/** The dark modules of a QR code as an svg path, and the symbol size. */
export function qrPath(text: string): { size: number; dark: number; path: string } {
  const { modules } = QRCode.create(text, { errorCorrectionLevel: 'M' });
  const parts: string[] = [];
  for (let row = 0; row < modules.size; row++) {
    for (let col = 0; col < modules.size; col++) {
      if (modules.data[row * modules.size + col]) parts.push(`M${col + QUIET_ZONE} ${row + QUIET_ZONE}h1v1h-1z`);
    }
  }
  return { size: modules.size, dark: parts.length, path: parts.join('') };
}

/** The QR code of a text (a TON Connect link), `pixels` wide, with an accessible label. */
export function QrCode({ text, label, pixels = 240 }: { text: string; label: string; pixels?: number }) {
  const qr = useMemo(() => qrPath(text), [text]);
  const extent = qr.size + QUIET_ZONE * 2;
  return (
    <svg
      role="img"
      aria-label={label}
      width={pixels}
      height={pixels}
      viewBox={`0 0 ${extent} ${extent}`}
      shapeRendering="crispEdges"
      data-modules={qr.dark}
      data-testid="qr-code"
      style={{ display: 'block', borderRadius: 8, background: '#ffffff' }}
    >
      <rect width={extent} height={extent} fill="#ffffff" />
      <path d={qr.path} fill="#000000" />
    </svg>
  );
}
