import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createGameProbe, detectGame } from './games.js';
import { listLinuxProcesses, parseCmdline, parsePsOutput, parseTasklistCsv, type ProcessInfo } from './processes.js';

const STEAM = '/home/alice/.local/share/Steam';
// Captured shapes of /proc/<pid>/cmdline while Steam runs a game under Proton.
const REAPER = [`${STEAM}/ubuntu12_32/reaper`, 'SteamLaunch', 'AppId=1091500', '--', `${STEAM}/ubuntu12_32/steam-launch-wrapper`, '--',
  `${STEAM}/steamapps/common/SteamLinuxRuntime_sniper/_v2-entry-point`, '--verb=waitforexitandrun', '--',
  `${STEAM}/steamapps/common/Proton 9.0 (Beta)/proton`, 'waitforexitandrun', `${STEAM}/steamapps/common/Cyberpunk 2077/bin/x64/Cyberpunk2077.exe`];
const idleDesktop: ProcessInfo[] = [
  { pid: 900, name: 'steam', args: [`${STEAM}/ubuntu12_32/steam`, '-srt-logger-opened'] },
  { pid: 901, name: 'steamwebhelper', args: [`${STEAM}/ubuntu12_64/steamwebhelper`, '-lang=en_US'] },
  { pid: 902, name: 'wineserver', args: [`${STEAM}/steamapps/common/Proton 9.0 (Beta)/files/bin/wineserver`] },
  { pid: 903, name: 'firefox', args: ['/usr/lib/firefox/firefox'] },
];

test('games: an idle desktop with Steam in the tray has no game', () => {
  assert.deepEqual(detectGame(idleDesktop), { detected: false });
});

test('games: a Steam game is named after its install folder, skipping Proton and runtimes', () => {
  assert.deepEqual(detectGame([...idleDesktop, { pid: 1000, name: 'reaper', args: REAPER }]), { detected: true, name: 'Cyberpunk 2077' });
  const windowsPath = { pid: 1001, name: 'Game.exe', args: ['C:\\Program Files (x86)\\Steam\\steamapps\\common\\Hades II\\Ship\\Hades2.exe'] };
  assert.deepEqual(detectGame([windowsPath]), { detected: true, name: 'Hades II' });
});

test('games: known executables match by name, also truncated Linux comm with a full argv[0]', () => {
  assert.deepEqual(detectGame([{ pid: 5, name: 'Cyberpunk2077.e', args: ['Z:\\games\\Cyberpunk2077.exe'] }]), { detected: true, name: 'Cyberpunk 2077' });
  assert.deepEqual(detectGame([{ pid: 6, name: 'eldenring.exe', args: null }]), { detected: true, name: 'Elden Ring' });
});

test('games: Lutris games are named by the wrapper; our own processes are ignored', () => {
  assert.deepEqual(detectGame([{ pid: 7, name: 'lutris-wrapper', args: ['lutris-wrapper', 'Diablo IV', '0', '0'] }]), { detected: true, name: 'Diablo IV' });
  assert.deepEqual(detectGame([{ pid: 8, name: 'cs2', args: ['cs2'] }], new Set([8])), { detected: false });
});

test('processes: ps (macOS) and tasklist (Windows) output parse', () => {
  assert.deepEqual(parsePsOutput('  1 /sbin/launchd\n 812 /Applications/Elden Ring.app/Contents/MacOS/eldenring\n'), [
    { pid: 1, name: 'launchd', args: ['/sbin/launchd'] },
    { pid: 812, name: 'eldenring', args: ['/Applications/Elden Ring.app/Contents/MacOS/eldenring'] },
  ]);
  const tasklist = '"System Idle Process","0","Services","0","8 K"\r\n"GTA5.exe","4410","Console","1","2,104,332 K"\r\n';
  assert.deepEqual(parseTasklistCsv(tasklist), [
    { pid: 0, name: 'System Idle Process', args: null },
    { pid: 4410, name: 'GTA5.exe', args: null },
  ]);
  assert.deepEqual(detectGame(parseTasklistCsv(tasklist)), { detected: true, name: 'Grand Theft Auto V' });
  assert.deepEqual(parseCmdline('a\0b c\0'), ['a', 'b c']);
});

test('games: the probe reads a /proc tree; without a process list the game signal is unknown', async () => {
  const root = await mkdtemp(join(tmpdir(), 'silkworm-proc-'));
  try {
    await mkdir(join(root, '1000'));
    await writeFile(join(root, '1000', 'comm'), 'reaper\n');
    await writeFile(join(root, '1000', 'cmdline'), `${REAPER.join('\0')}\0`);
    await mkdir(join(root, 'self'));
    assert.deepEqual(await listLinuxProcesses(root), [{ pid: 1000, name: 'reaper', args: REAPER }]);
    assert.deepEqual(await createGameProbe({ platform: 'linux', procRoot: root }).read(), { game: { detected: true, name: 'Cyberpunk 2077' } });
    assert.deepEqual(await createGameProbe({ platform: 'linux', procRoot: join(root, 'missing') }).read(), {});
    assert.deepEqual(await createGameProbe({ platform: 'aix' }).read(), {});
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
