// Shared by the plan tests: a source directory's hashes (to show it was not written) and a plan written to a file.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { drain } from '../../src/analyses';
import { generatePlan, type PlanRequest } from '../../src/plan/generate';

export function hashDirectory(dir: string): Record<string, string> {
  return Object.fromEntries(readdirSync(dir).sort().map((n) => [n, createHash('sha256').update(readFileSync(join(dir, n))).digest('hex')]));
}

export async function makePlan(request: PlanRequest, planPath: string): Promise<void> {
  const plan = await drain(generatePlan({ ...request, planDirectory: dirname(planPath), providers: ['cpu'] }));
  writeFileSync(planPath, `${JSON.stringify(plan, null, 2)}\n`);
}
