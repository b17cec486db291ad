// moe-golden.json (test/fixtures/models/make_moe_golden.py) as the MoE tests read it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './helpers';

export interface GoldenExpert {
  index: number;
  share: number;
  meanGate: number | null;
  score: number;
  outputChange: number;
}
export interface GoldenMoe {
  path: string;
  layers: number;
  ids: number[];
  logit_positions: number[];
  logits: number[][];
  nll: number;
  perplexity: number;
  block_influence: number[];
  ablation_perplexity: number[];
  block_parameters: number[];
  parameters: number;
  sparse_blocks: number[];
  experts: { index: number; experts: GoldenExpert[] }[];
}
export const MOE_FIXTURES = join(ROOT, 'test', 'fixtures', 'models');
export const moeGolden = JSON.parse(readFileSync(join(MOE_FIXTURES, 'moe-golden.json'), 'utf8')) as { text: { text: string; tokens: number }; models: Record<string, GoldenMoe> };
