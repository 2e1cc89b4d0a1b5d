import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseCsv } from '../data/csv.js';
import { UserError } from '../util/errors.js';
import { decodePng, toModelInput, type InputSpec } from './images.js';

/**
 * A user's own traffic for `cache replay --images DIR`: every PNG/JPEG of a folder (sorted by name),
 * preprocessed as the server would, and optionally their labels — a CSV `file,label` whose label is
 * a class index or one of the model's class names — used only to score the replay.
 */
export interface ImageFolder {
  files: string[];
  inputs: Float32Array[];
  labels: number[] | null;
}

export async function loadImageFolder(dir: string, spec: InputSpec, labelsFile?: string, limit = Infinity): Promise<ImageFolder> {
  let names: string[];
  try {
    names = readdirSync(dir).filter((f) => /\.(png|jpe?g)$/i.test(f)).sort();
  } catch (e) {
    throw new UserError(`cannot read the folder (${(e as NodeJS.ErrnoException).code ?? String(e)})`, dir);
  }
  if (!names.length) throw new UserError('has no .png / .jpg / .jpeg images', dir);
  names = names.slice(0, limit);
  const inputs: Float32Array[] = [];
  for (const f of names) {
    try {
      inputs.push(toModelInput(await decodePng(readFileSync(path.join(dir, f))), spec));
    } catch (e) {
      throw new UserError((e as Error).message, path.join(dir, f));
    }
  }
  let labels: number[] | null = null;
  if (labelsFile) {
    let text: string;
    try {
      text = readFileSync(labelsFile, 'utf8');
    } catch (e) {
      throw new UserError(`cannot read (${(e as NodeJS.ErrnoException).code ?? String(e)})`, labelsFile);
    }
    const csv = parseCsv(text, labelsFile);
    const [fc, lc] = [csv.header.indexOf('file'), csv.header.indexOf('label')];
    if (fc < 0 || lc < 0) throw new UserError(`needs the columns 'file' and 'label', has ${csv.header.join(', ')}`, labelsFile);
    const byFile = new Map<string, number>();
    csv.rows.forEach((r, i) => {
      const raw = r[lc]!.trim();
      const idx = /^\d+$/.test(raw) ? Number(raw) : (spec.classes?.indexOf(raw) ?? -1);
      if (idx < 0) throw new UserError(`line ${i + 2}: label '${raw}' is neither a class index nor a class name of the model`, labelsFile);
      byFile.set(r[fc]!.trim(), idx);
    });
    const missing = names.filter((f) => !byFile.has(f));
    if (missing.length) throw new UserError(`has no label for ${missing.length} image(s), e.g. ${missing.slice(0, 3).join(', ')}`, labelsFile);
    labels = names.map((f) => byFile.get(f)!);
  }
  return { files: names, inputs, labels };
}
