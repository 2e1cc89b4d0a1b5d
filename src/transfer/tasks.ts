import type { SearchSpace } from '../data/latency.js';
import { UserError } from '../util/errors.js';

/** A transfer task: pretrain on `train` devices, adapt to each `test` device from k samples. */
export interface TransferTask {
  name: string;
  space: SearchSpace;
  train: string[];
  test: string[];
  /** published HELP Spearman with 10 target samples, per test device (for side-by-side tables) */
  help?: Record<string, number>;
  source: string;
  /** devices for design choices, never in train or test (default: every other device of the table) */
  validation?: string[];
}

/** Published splits (data/latency/README.md of the shared data; HELP Table 3; MLSys'24 FBNet tasks). */
export const TASKS: readonly TransferTask[] = [
  {
    name: 'nb201-help',
    space: 'nb201',
    train: ['1080ti_1', '1080ti_32', '1080ti_256', 'silver_4114', 'silver_4210r', 'samsung_a50', 'pixel3', 'essential_ph_1', 'samsung_s7'],
    test: ['titan_rtx_256', 'gold_6226', 'fpga', 'pixel2', 'raspi4', 'eyeriss'],
    help: { titan_rtx_256: 0.987, gold_6226: 0.989, fpga: 0.985, pixel2: 0.802, raspi4: 0.89, eyeriss: 0.94 },
    validation: ['titanx_1', 'titanx_32', 'titanx_256', 'gold_6240'],
    source: 'HELP (NeurIPS 2021) Table 3, NB201 split',
  },
  {
    name: 'fbnet-help',
    space: 'fbnet',
    train: ['1080ti_1', '1080ti_32', '1080ti_64', 'silver_4114', 'silver_4210r', 'samsung_a50', 'pixel3', 'essential_ph_1', 'samsung_s7'],
    test: ['fpga', 'raspi4', 'eyeriss'],
    source: 'HELP (NeurIPS 2021), FBNet split',
  },
  ...(
    [
      [['2080ti_1', 'essential_ph_1', 'silver_4114', 'titan_rtx_1', 'titan_rtx_32'], ['eyeriss', 'fpga', 'raspi4', 'samsung_a50', 'samsung_s7']],
      [['essential_ph_1', 'gold_6226', 'gold_6240', 'pixel3', 'raspi4'], ['1080ti_1', '1080ti_32', '2080ti_32', 'titan_rtx_1', 'titanxp_1']],
      [['essential_ph_1', 'pixel2', 'pixel3', 'raspi4', 'samsung_s7'], ['1080ti_1', '1080ti_32', '2080ti_1', 'titan_rtx_1', 'titan_rtx_32']],
      [['1080ti_64', '2080ti_1', 'eyeriss', 'gold_6226', 'gold_6240', 'raspi4', 'samsung_s7', 'silver_4210r', 'titan_rtx_1', 'titan_rtx_32'], ['1080ti_1', 'pixel2', 'essential_ph_1']],
      [
        ['1080ti_1', '1080ti_32', '1080ti_64', '2080ti_1', '2080ti_32', '2080ti_64', 'titan_rtx_1', 'titan_rtx_32', 'titan_rtx_64', 'titanx_1', 'titanx_32', 'titanx_64', 'titanxp_1', 'titanxp_32', 'titanxp_64'],
        ['gold_6226', 'essential_ph_1', 'samsung_s7', 'pixel2'],
      ],
    ] as const
  ).map(([train, test], i) => ({
    name: `fbnet-${i + 1}`,
    space: 'fbnet' as const,
    train: [...train],
    test: [...test],
    source: `Akhauri & Abdelfattah (MLSys 2024) FBNet task ${i + 1}`,
  })),
];

export function getTask(name: string, extra: readonly TransferTask[] = []): TransferTask {
  const t = [...TASKS, ...extra].find((x) => x.name === name);
  if (!t) throw new UserError(`unknown task '${name}', expected one of: ${[...TASKS, ...extra].map((x) => x.name).join(', ')}`, 'task');
  return t;
}

/** the task's validation devices: its own list, else every device of the table in neither train nor test */
export function validationDevices(task: TransferTask, allDevices: readonly string[]): string[] {
  return task.validation ?? allDevices.filter((d) => !task.train.includes(d) && !task.test.includes(d));
}
