/**
 * What an attached file is, decided from its bytes: a file named `.png` that holds text is refused,
 * never sent. Also the image sizes routing needs to count image tokens, and the providers' size limits.
 */
import type { AttachmentKind } from './types.js';

export interface DetectedMedia {
  kind: AttachmentKind;
  mediaType: string;
}

const startsWith = (b: Uint8Array, sig: readonly number[], at = 0): boolean => sig.every((x, i) => b[at + i] === x);
const ascii = (s: string): number[] => [...s].map((c) => c.charCodeAt(0));

/** The media type of a file from its magic number; undefined when it is none we can send. */
export function detectMedia(bytes: Uint8Array): DetectedMedia | undefined {
  if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return { kind: 'image', mediaType: 'image/png' };
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return { kind: 'image', mediaType: 'image/jpeg' };
  if (startsWith(bytes, ascii('GIF87a')) || startsWith(bytes, ascii('GIF89a'))) return { kind: 'image', mediaType: 'image/gif' };
  if (startsWith(bytes, ascii('RIFF')) && startsWith(bytes, ascii('WEBP'), 8)) return { kind: 'image', mediaType: 'image/webp' };
  if (startsWith(bytes, ascii('%PDF-'))) return { kind: 'pdf', mediaType: 'application/pdf' };
  return undefined;
}

/** Width and height from the image header, or undefined when the header is not one we can read. */
export function imageSize(bytes: Uint8Array, mediaType: string): { width: number; height: number } | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const size = (width: number, height: number) => (width > 0 && height > 0 ? { width, height } : undefined);
  try {
    switch (mediaType) {
      case 'image/png':
        // IHDR is always the first chunk: width and height big-endian at 16 and 20.
        return size(view.getUint32(16), view.getUint32(20));
      case 'image/gif':
        return size(view.getUint16(6, true), view.getUint16(8, true));
      case 'image/webp':
        return webpSize(bytes, view);
      case 'image/jpeg':
        return jpegSize(bytes, view);
    }
  } catch {
    // A header shorter than it claims: treat as unknown size rather than failing routing.
  }
  return undefined;
}

function webpSize(bytes: Uint8Array, view: DataView): { width: number; height: number } | undefined {
  const chunk = String.fromCharCode(...bytes.subarray(12, 16));
  const uint24 = (at: number) => view.getUint16(at, true) | (view.getUint8(at + 2) << 16);
  if (chunk === 'VP8X') return { width: 1 + uint24(24), height: 1 + uint24(27) };
  if (chunk === 'VP8 ') return { width: view.getUint16(26, true) & 0x3fff, height: view.getUint16(28, true) & 0x3fff };
  if (chunk === 'VP8L') {
    const bits = view.getUint32(21, true);
    return { width: 1 + (bits & 0x3fff), height: 1 + ((bits >> 14) & 0x3fff) };
  }
  return undefined;
}

/** Walks the JPEG segments to the first start-of-frame marker, which holds the size. */
function jpegSize(bytes: Uint8Array, view: DataView): { width: number; height: number } | undefined {
  let at = 2;
  while (at + 9 < bytes.length) {
    if (bytes[at] !== 0xff) return undefined;
    const marker = bytes[at + 1]!;
    // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC).
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      return { width: view.getUint16(at + 7), height: view.getUint16(at + 5) };
    }
    at += 2 + view.getUint16(at + 2);
  }
  return undefined;
}

/** Anthropic scales images down so the long edge is at most this before counting tokens. */
export const IMAGE_MAX_EDGE = 1568;

/**
 * Input tokens of an image by Anthropic's documented estimate, tokens ≈ width × height / 750, after the
 * downscale to a long edge of 1568 px. OpenAI counts tiles instead, but the two agree within a small
 * factor, which is all a routing threshold needs.
 */
export function imageTokens(width: number, height: number): number {
  const scale = Math.min(1, IMAGE_MAX_EDGE / Math.max(width, height));
  return Math.ceil((Math.round(width * scale) * Math.round(height * scale)) / 750);
}

/** Documented per-file byte limits, checked before a call so an oversized file fails with its name. */
export const ATTACHMENT_LIMITS: Readonly<Record<'openai' | 'anthropic', { image: number; pdf: number }>> = {
  openai: { image: 20 * 1024 * 1024, pdf: 32 * 1024 * 1024 },
  anthropic: { image: 5 * 1024 * 1024, pdf: 32 * 1024 * 1024 },
};

/** Anthropic's limit on a whole Messages request body. */
export const ANTHROPIC_REQUEST_LIMIT = 32 * 1024 * 1024;
