// The output channel's grammar (syntaxes/importance-lens-log.json) colours the job lines the extension writes: each
// line shape jobLogLine makes is matched by its rule, with the id, wall time and device captured, and the grammar
// is contributed as an injection into VS Code's log language. (Its rules are plain regular expressions, the same in
// Oniguruma and JavaScript, so they are checked here with RegExp.) A rule starts right after the level (`[info] `),
// so a job line quoted inside an error message is not coloured again.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { jobLogLine } from '../../src/worker/jobSummary';
import { ROOT } from './helpers';

interface Rule { match: string; captures: Record<string, { name: string }> }
const grammar = JSON.parse(readFileSync(join(ROOT, 'syntaxes', 'importance-lens-log.json'), 'utf8')) as { scopeName: string; injectionSelector: string; repository: Record<string, Rule> };

/** The rules that match `line`, with the text each captured scope covers. */
function scopes(line: string): { rule: string; captured: Record<string, string> }[] {
  return Object.entries(grammar.repository).flatMap(([rule, { match, captures }]) => {
    const found = new RegExp(match).exec(line);
    if (!found) return [];
    const captured: Record<string, string> = {};
    for (const [group, { name }] of Object.entries(captures)) captured[name.split('.').slice(0, -1).join('.')] = found[Number(group)]!;
    return [{ rule, captured }];
  });
}

test('each job line the output channel writes is coloured by exactly its rule', () => {
  // As the log channel shows them: time and level, then the line.
  const shown = (line: string) => `2026-12-03 13:00:00.000 [info] ${line}`;
  const lines = {
    started: jobLogLine.started(7, 'layer ranking by block-influence of /m/qwen', '{"analysis":"layers"}'),
    finished: jobLogLine.finished(7, 1834.2, 'webgpu', 'layers 24'),
    cancelled: jobLogLine.cancelled(8, 250),
    failed: jobLogLine.failed(9, 12_000, 'ran out of memory: job 3 finished in 1.00 s on cpu: x'),
  };
  for (const [rule, line] of Object.entries(lines)) {
    const matched = scopes(shown(line));
    assert.deepEqual(matched.map((m) => m.rule), [rule], line);
  }
  assert.deepEqual(scopes(shown(lines.finished))[0]!.captured, {
    'keyword.other.job': 'job', 'constant.numeric.job-id': '7', 'markup.inserted.job-finished': 'finished',
    'constant.numeric.duration': '1.83 s', 'entity.name.type.device': 'webgpu',
  });
  assert.equal(scopes(shown(jobLogLine.finished(1, 5, 'no device (files only)', 'tensors 3')))[0]!.captured['entity.name.type.device'], 'no device (files only)');
  assert.equal(scopes(shown(lines.cancelled))[0]!.captured['constant.numeric.duration'], '0.25 s');
  assert.equal(scopes(shown(lines.failed))[0]!.captured['invalid.illegal.job-failed'], 'failed');
  // Other extensions' log lines are left to the log grammar.
  assert.deepEqual(scopes('2026-12-03 13:00:00.000 [info] Extension host started'), []);
});

test('the grammar is contributed as an injection into the log language', () => {
  const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { contributes: { grammars: { scopeName: string; path: string; injectTo?: string[] }[] } };
  const entry = manifest.contributes.grammars.find((g) => g.scopeName === grammar.scopeName);
  assert.ok(entry, 'package.json contributes the grammar');
  assert.equal(join(ROOT, entry.path), join(ROOT, 'syntaxes', 'importance-lens-log.json'));
  assert.deepEqual(entry.injectTo, ['text.log']);
  assert.equal(grammar.injectionSelector, 'L:text.log');
});
