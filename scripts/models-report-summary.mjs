// One line per setting of a bench:models report, every figure labelled: the chosen design's choice-data ±10 % and RMSPE,
// the test networks' ±10 % and RMSPE, the PP-OCR errors — what the study scripts print per variant.
//   node scripts/models-report-summary.mjs reports/models.md NAME
import { readFileSync } from 'node:fs';

const [file, name = file] = process.argv.slice(2);
if (!file) {
  console.error('usage: node scripts/models-report-summary.mjs REPORT.md [NAME]');
  process.exit(2);
}
const cells = (l) => l.split('|').map((s) => s.trim());
let text;
try {
  text = readFileSync(file, 'utf8');
} catch (e) {
  console.error(`${file}: cannot read it (${e.code ?? e.message})`);
  process.exit(2);
}
// one section per setting ("## ort-cpu, 1 thread" …)
const sections = text.startsWith('# Whole-model prediction (bench:models)') ? text.split(/\n(?=## )/).filter((s) => s.startsWith('## ')) : [];
if (!sections.length) {
  console.error(`${file}: not a bench:models report (it starts with '# Whole-model prediction (bench:models)' and has a section per setting)`);
  process.exit(2);
}
for (const s of sections) {
  const lines = s.split('\n');
  const row = (test, what) => lines.find(test) ?? (console.error(`${file}: '${lines[0]}' has no ${what} (not a bench:models report?)`), process.exit(2));
  const chosen = cells(row((l) => l.includes('← |'), 'chosen design row'));
  const all = cells(row((l) => l.startsWith('| **all**'), "test networks' **all** row"));
  const ocr = lines.filter((l) => /^\| PP-OCR/.test(l)).map((l) => cells(l)[4]);
  // labelled: the first figure is the choice data's, not the test networks' (session 43 quoted it as the test figure)
  console.log(`${name} ${lines[0].slice(3)} | choice data ±10 % ${chosen[2]}, RMSPE ${chosen[4]} | test ±10 % ${all[4]}, RMSPE ${all[5]} | PP-OCR ${ocr.join(' / ')}`);
}
