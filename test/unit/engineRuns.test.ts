// How the block engine runs a block, beyond what it computes (forward.test.ts checks that against torch): attention
// in query chunks equals plain causal softmax attention past one chunk; a session not asked for the attention
// probabilities is built without them; a batch split into sub-batches gives what one run gives (forward and
// ablation), and so does the head in several passes over its rows; a failed open releases the sessions it made.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { nextTokenTargets } from '../../src/analyses/logits';
import { ablationNll } from '../../src/compute/engine/ablation';
import { BlockEngine } from '../../src/compute/engine/blockEngine';
import { ATTENTION_QUERY_CHUNK, attention } from '../../src/compute/families/ops';
import { LanguageModel } from '../../src/compute/languageModel';
import { GraphBuilder, pruneToOutputs, value } from '../../src/compute/onnxGraph';
import { seededRandom } from '../../src/compute/random';
import { createSession, onnxruntime } from '../../src/compute/session';
import { CancelledError } from '../../src/errors';
import { onnx } from 'onnx-proto';
import { ROOT } from './helpers';

const FIXTURES = join(ROOT, 'test', 'fixtures', 'models');
const IDS = [5, 77, 300, 12, 999, 42, 42, 7, 512, 3, 88, 640];

/** Op types of a model's top-level graph, and of its Loop bodies. */
function opTypes(model: Uint8Array): { top: string[]; inner: string[] } {
  const graph = onnx.ModelProto.decode(model).graph!;
  const nodes = graph.node ?? [];
  return { top: nodes.map((n) => n.opType!), inner: nodes.flatMap((n) => (n.attribute ?? []).flatMap((a) => (a.g?.node ?? []).map((m) => m.opType!))) };
}

test(`attention over more tokens than one query chunk (${ATTENTION_QUERY_CHUNK}) equals plain causal softmax attention`, async () => {
  const [batch, heads, seq, dim] = [2, 3, 2 * ATTENTION_QUERY_CHUNK + 37, 8];
  const g = new GraphBuilder();
  const { context, probabilities } = attention(g, 'q', 'k', 'v', dim, 'mask');
  g.op('Identity', [context], {}, 'context');
  g.op('Identity', [probabilities], {}, 'probabilities');
  const shape = ['batch', heads, 'seq', dim];
  const model = g.model('attention', [value('q', 'float', shape), value('k', 'float', shape), value('v', 'float', shape), value('mask', 'float', ['seq', 'seq'])],
    [value('context', 'float', shape), value('probabilities', 'float', ['batch', heads, 'seq', 'seq'])]);
  const random = seededRandom(3);
  const draw = () => Float32Array.from({ length: batch * heads * seq * dim }, () => random() * 4 - 2);
  const [q, k, v] = [draw(), draw(), draw()];
  const mask = Float32Array.from({ length: seq * seq }, (_, i) => (i % seq > Math.floor(i / seq) ? -1e9 : 0));
  const { Tensor } = onnxruntime();
  const feeds = { q: new Tensor('float32', q, [batch, heads, seq, dim]), k: new Tensor('float32', k, [batch, heads, seq, dim]), v: new Tensor('float32', v, [batch, heads, seq, dim]), mask: new Tensor('float32', mask, [seq, seq]) };

  const whole = await createSession(model, 'cpu');
  const chunked = await createSession(pruneToOutputs(model, ['context']), 'cpu');
  try {
    const out = await whole.run(feeds);
    const lean = (await chunked.run(feeds)).context!.data as Float32Array;
    const ctx = out.context!.data as Float32Array;
    const probs = out.probabilities!.data as Float32Array;
    let worst = 0;
    for (let bh = 0; bh < batch * heads; bh++) {
      for (let i = 0; i < seq; i++) {
        // float64 reference: softmax over keys 0..i of q_i·k_j/√d, then Σ p_j v_j.
        const scores = Array.from({ length: i + 1 }, (_, j) => {
          let s = 0;
          for (let c = 0; c < dim; c++) s += q[(bh * seq + i) * dim + c]! * k[(bh * seq + j) * dim + c]!;
          return s / Math.sqrt(dim);
        });
        const max = Math.max(...scores);
        const exps = scores.map((s) => Math.exp(s - max));
        const sum = exps.reduce((a, b) => a + b, 0);
        for (let j = 0; j < seq; j++) worst = Math.max(worst, Math.abs(probs[(bh * seq + i) * seq + j]! - (j <= i ? exps[j]! / sum : 0)));
        for (let c = 0; c < dim; c++) {
          let expected = 0;
          for (let j = 0; j <= i; j++) expected += (exps[j]! / sum) * v[(bh * seq + j) * dim + c]!;
          const at = (bh * seq + i) * dim + c;
          worst = Math.max(worst, Math.abs(ctx[at]! - expected), Math.abs(lean[at]! - expected));
        }
      }
    }
    assert.ok(worst < 1e-5, `max |Δ| ${worst}`);
  } finally {
    await whole.release();
    await chunked.release();
  }
});

test('a block session not asked for attention probabilities is built without them (onnxruntime runs every node it is given)', () => {
  const g = new GraphBuilder();
  const { context, probabilities } = attention(g, 'q', 'k', 'v', 4, 'mask');
  g.op('Identity', [context], {}, 'context');
  g.op('Identity', [probabilities], {}, 'probabilities');
  const shape = [1, 1, 'seq', 4];
  const model = g.model('attention', ['q', 'k', 'v'].map((n) => value(n, 'float', shape)).concat(value('mask', 'float', ['seq', 'seq'])), [value('context', 'float', shape), value('probabilities', 'float', [1, 1, 'seq', 'seq'])]);
  const full = opTypes(model);
  assert.equal(full.top.filter((t) => t === 'Softmax').length, 1, 'the whole probabilities');
  assert.equal(full.inner.filter((t) => t === 'Softmax').length, 1, 'one chunk of them, in the Loop');
  const lean = opTypes(pruneToOutputs(model, ['context']));
  assert.deepEqual(lean.top.filter((t) => t === 'Softmax' || t === 'MatMul'), [], 'nothing of the whole [s, s] path is left');
  assert.ok(lean.top.includes('Loop') && lean.inner.includes('Softmax'));
  assert.throws(() => pruneToOutputs(model, ['nope']), /no output nope/);
});

test('a batch run in sub-batches of one row gives what one run gives: hidden states, attention, linear inputs', async () => {
  const model = await LanguageModel.open(join(FIXTURES, 'tiny-qwen2'), ['cpu']);
  try {
    const rows = [IDS, [...IDS].reverse(), IDS.map((id) => (id * 3) % 1000)];
    const options = { hidden: true, attention: true, linearInputs: true, logits: true } as const;
    const once = await model.forward(rows, options);
    assert.ok(model.engine.rowsPerRun(IDS.length, true) >= rows.length, 'the default budget runs them at once');
    model.engine.runActivationBytes = 1;
    assert.equal(model.engine.rowsPerRun(IDS.length, true), 1);
    const split = await model.forward(rows, options);
    const close = (a: readonly Float32Array[], b: readonly Float32Array[], what: string) => {
      assert.equal(a.length, b.length, what);
      a.forEach((x, i) => {
        assert.equal(x.length, b[i]!.length, what);
        x.forEach((value, j) => assert.ok(Math.abs(value - b[i]![j]!) <= 1e-5 * (1 + Math.abs(value)), `${what} ${i}[${j}]: ${value} vs ${b[i]![j]}`));
      });
    };
    close(once.hidden, split.hidden, 'hidden');
    close(once.attention, split.attention, 'attention');
    close(once.linearInputs, split.linearInputs, 'linear inputs');
    close([once.logits], [split.logits], 'logits');
  } finally {
    await model.release();
  }
});

test('ablation with its rows run one at a time equals skipping the block in a full pass', async () => {
  const model = await LanguageModel.open(join(FIXTURES, 'tiny-qwen2-bf16'), ['cpu']);
  try {
    const gated: number[] = [];
    for (let l = 0; l < model.layers; l++) {
      const out = await model.forward([IDS], { skip: l, targets: [nextTokenTargets(IDS)], logits: false });
      gated.push(-out.logProbs!.slice(0, -1).reduce((a, b) => a + b, 0));
    }
    model.engine.runActivationBytes = 1;
    const swept = await ablationNll(model.engine, IDS);
    swept.forEach((nll, l) => assert.ok(Math.abs(nll - gated[l]!) <= 1e-5 * Math.abs(gated[l]!), `block ${l}: ${nll} vs ${gated[l]}`));
  } finally {
    await model.release();
  }
});

test('the head over many rows in several passes over the vocabulary gives what one pass gives: logits and log-probabilities', async () => {
  const model = await LanguageModel.open(join(FIXTURES, 'tiny-qwen2'), ['cpu']);
  try {
    const rows = [IDS, [...IDS].reverse(), IDS.map((id) => (id * 3) % 1000)];
    const targets = rows.map((r) => nextTokenTargets(r));
    const once = await model.forward(rows, { targets, logits: true });
    model.engine.head.rowBytes = 5 * 4 * model.hidden; // 5 of the 36 rows per pass: 8 passes, the last of 1 row
    assert.equal(model.engine.head.rowsPerPass, 5);
    const chunks: string[] = [];
    const split = await model.forward(rows, { targets, logits: true, onProgress: (m) => chunks.push(m) });
    assert.ok(chunks.some((m) => /^head 8 \/ 8,/.test(m)), chunks.join('\n'));
    once.logits.forEach((v, i) => assert.ok(Math.abs(v - split.logits[i]!) <= 1e-5 * (1 + Math.abs(v)), `logit ${i}`));
    once.logProbs!.forEach((v, i) => assert.ok(Number.isNaN(v) ? Number.isNaN(split.logProbs![i]!) : Math.abs(v - split.logProbs![i]!) <= 1e-5 * (1 + Math.abs(v)), `log p ${i}: ${v} vs ${split.logProbs![i]}`));
  } finally {
    await model.release();
  }
});

test('an open that fails after making sessions releases them', async () => {
  const ort = onnxruntime();
  const create = ort.InferenceSession.create;
  const made: { released: boolean }[] = [];
  const controller = new AbortController();
  // Every session made is recorded; the open is cancelled as soon as the first (the block session) exists.
  ort.InferenceSession.create = (async (...args: Parameters<typeof create>) => {
    const session = await (create as (...a: Parameters<typeof create>) => ReturnType<typeof create>).apply(ort.InferenceSession, args);
    const record = { released: false };
    made.push(record);
    const release = session.release.bind(session);
    session.release = () => ((record.released = true), release());
    controller.abort();
    return session;
  }) as typeof create;
  try {
    await assert.rejects(BlockEngine.open(join(FIXTURES, 'tiny-qwen2'), ['cpu'], controller.signal), CancelledError);
  } finally {
    ort.InferenceSession.create = create;
  }
  assert.ok(made.length >= 1, 'a session was made before the failure');
  assert.ok(made.every((s) => s.released), `released: ${made.map((s) => s.released).join(', ')}`);
});
