/**
 * Reading the files a case attaches. Each distinct file is read once and its Buffer shared by every
 * case that names it, so a suite of 500 cases over 5 receipts holds 5 copies, not 500.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigError } from '../core/errors.js';
import { detectMedia, imageSize } from '../core/media.js';
import type { Attachment, Origin } from '../core/types.js';
import { type ProjectRoots, regularFileSize, unreadable } from './files.js';

const DATA_URL = /^data:([^;,]*)(;base64)?,(.*)$/s;

/** Largest attachment read: above the APIs' own limits (20 MB images, 32 MB PDFs), so never useful. */
export const MAX_ATTACHMENT_BYTES = 32 * 1024 * 1024;

export class AttachmentLoader {
  readonly #byPath = new Map<string, Attachment>();
  readonly #bySha = new Map<string, Buffer>();

  /** `roots`: where attachment files may come from (none given: anywhere, for library callers that vouch for their files). */
  constructor(
    private readonly suiteDir: string,
    private readonly roots?: ProjectRoots,
  ) {}

  /** `ref` is a path relative to the suite folder, or a `data:` URL; `where` names the case for errors. */
  load(ref: string, where: { caseId: string; origin: Origin }): Attachment {
    const isDataUrl = ref.startsWith('data:');
    const path = isDataUrl ? undefined : resolve(this.suiteDir, ref);
    const cached = path !== undefined ? this.#byPath.get(path) : undefined;
    if (cached) return cached;
    const at = `case "${where.caseId}" (${where.origin.file}:${where.origin.line})`;
    let data: Buffer;
    if (isDataUrl) {
      const m = DATA_URL.exec(ref);
      if (!m?.[2]) throw new ConfigError(where.origin, `${at}: attachment is a data: URL that is not base64`, 'use data:<media type>;base64,<data>, or a file path');
      data = Buffer.from(m[3]!, 'base64');
    } else {
      this.roots?.check(path!, `${at}: attachment`, where.origin);
      // Stat before reading: a 2 GB file or /dev/zero must not be pulled into memory to be refused.
      const size = regularFileSize(path!, `${at}: attachment`, { where: where.origin, hint: 'attachment paths are relative to the suite folder' });
      if (size > MAX_ATTACHMENT_BYTES) {
        throw new ConfigError(
          where.origin,
          `${at}: attachment ${path} is ${(size / 1024 / 1024).toFixed(1)} MB; evalroute attaches files of up to ${MAX_ATTACHMENT_BYTES / 1024 / 1024} MB`,
          'shrink the image or split the PDF (the APIs refuse larger files anyway)',
        );
      }
      try {
        data = readFileSync(path!);
      } catch (e) {
        throw unreadable(path!, `${at}: attachment`, e, where.origin);
      }
    }
    const media = detectMedia(data);
    const name = isDataUrl ? 'data-url' : ref;
    if (!media) {
      throw new ConfigError(
        where.origin,
        `${at}: attachment ${isDataUrl ? 'data: URL' : path} is not a supported file: its bytes are not PNG, JPEG, GIF, WebP or PDF`,
        'attach images (PNG, JPEG, GIF, WebP) or PDFs; the type is read from the file content, not its name',
      );
    }
    const sha256 = createHash('sha256').update(data).digest('hex');
    // Two paths (or a path and a data: URL) with the same bytes share one Buffer too.
    const shared = this.#bySha.get(sha256);
    if (shared) data = shared;
    else this.#bySha.set(sha256, data);
    const size = media.kind === 'image' ? imageSize(data, media.mediaType) : undefined;
    const attachment: Attachment = { kind: media.kind, mediaType: media.mediaType, name, sha256, bytes: data.length, data, ...(size ?? {}) };
    if (path !== undefined) this.#byPath.set(path, attachment);
    return attachment;
  }
}
