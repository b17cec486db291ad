// Verifying an applied plan: the source and the result run on the same text by the `perplexity` analysis, the
// numbers `apply --verify` prints. applyAndVerify is apply as the editor asks for it: into a folder the user chose,
// or, to verify only, run virtually on the source (virtual.ts) — or, for what cannot run so (expert drops of an MoE
// model the engine does not run), written into a scratch folder that is removed afterwards (the original is only read either way).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { perplexity } from '../analyses/perplexity';
import { InputError } from '../errors';
import type { ApplyOutcome, PlanWorkerRequest } from '../protocol/plan';
import type { Progress } from '../protocol/results';
import { applyPlan } from './apply';
import type { PlanVerification } from './types';
import { planRunsVirtually, verifyVirtually } from './virtual';

export interface VerifyOptions {
  maxTokens?: number;
  providers?: readonly string[];
}

export async function* verifyApplied(source: string, out: string, textFile: string, options: VerifyOptions = {}, signal?: AbortSignal): AsyncGenerator<Progress, PlanVerification> {
  const input = { text: { file: textFile }, ...(options.maxTokens !== undefined ? { maxTokens: options.maxTokens } : {}), ...(options.providers ? { providers: options.providers } : {}) };
  const before = yield* perplexity({ model: source, ...input }, signal);
  const after = yield* perplexity({ model: out, ...input }, signal);
  return { textFile, tokens: before.tokens, device: after.device, perplexity: { before: before.perplexity, after: after.perplexity } };
}

export async function* applyAndVerify(request: Extract<PlanWorkerRequest, { analysis: 'apply' }>, signal?: AbortSignal): AsyncGenerator<Progress, ApplyOutcome> {
  const { verify, providers } = request;
  if (request.out === null && !verify) throw new InputError('apply: with no output folder there is nothing to do but verify, and no text to verify on was given');
  // Verify only: run the plan on the source model in memory, writing nothing, where the engine can.
  if (request.out === null && verify && (await planRunsVirtually(request.plan))) {
    const options = { ...(verify.maxTokens !== undefined ? { maxTokens: verify.maxTokens } : {}), ...(providers ? { providers } : {}) };
    const { result, verification } = yield* verifyVirtually(request.plan, verify.textFile, options, signal);
    return { ...result, kept: false, verification };
  }
  const scratch = request.out === null ? await mkdtemp(join(tmpdir(), 'importance-lens-verify-')) : null;
  try {
    const result = yield* applyPlan(request.plan, request.out ?? join(scratch!, 'pruned'), providers ? { providers } : {}, signal);
    const options = { ...(verify?.maxTokens !== undefined ? { maxTokens: verify.maxTokens } : {}), ...(providers ? { providers } : {}) };
    const verification = verify ? yield* verifyApplied(result.source, result.out, verify.textFile, options, signal) : null;
    return { ...result, kept: scratch === null, verification };
  } finally {
    if (scratch) await rm(scratch, { recursive: true, force: true });
  }
}
