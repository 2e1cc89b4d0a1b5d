// One line of a bench:models report (1 setting): the chosen design's choice-data ±10 % and RMSPE,
// the test networks' ±10 %, the PP-OCR errors — what the study scripts print per variant.
//   node scripts/models-report-summary.mjs reports/models.md NAME
import { readFileSync } from 'node:fs';

const [file, name = file] = process.argv.slice(2);
const lines = readFileSync(file, 'utf8').split('\n');
const cells = (l) => l.split('|').map((s) => s.trim());
const chosen = cells(lines.find((l) => l.includes('← |')));
const all = cells(lines.find((l) => l.startsWith('| **all**')));
const ocr = lines.filter((l) => /^\| PP-OCR/.test(l)).map((l) => cells(l)[4]);
console.log([name, chosen[2], chosen[4], all[4], ocr.join(' / ')].join(' | '));
