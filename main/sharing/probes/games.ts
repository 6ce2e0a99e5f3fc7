/**
 * "Is a game running?" from the process list: games launched through Steam (their install
 * folder under steamapps/common), Lutris, and a short list of well-known game executables.
 * Launchers idling in the tray (Steam, Epic, Battle.net) are not games and do not count.
 */
import type { Detection, SignalProbe } from '../signals.js';
import type { CommandRunner } from './run-command.js';
import { listProcesses, type ProcessInfo } from './processes.js';

/** Well-known game executables (lower case, without .exe) → the name the UI shows. */
export const KNOWN_GAMES: Readonly<Record<string, string>> = {
  cyberpunk2077: 'Cyberpunk 2077',
  eldenring: 'Elden Ring',
  cs2: 'Counter-Strike 2',
  csgo_linux64: 'Counter-Strike: Global Offensive',
  dota2: 'Dota 2',
  gta5: 'Grand Theft Auto V',
  gta5_enhanced: 'Grand Theft Auto V',
  rdr2: 'Red Dead Redemption 2',
  'fortniteclient-win64-shipping': 'Fortnite',
  'valorant-win64-shipping': 'Valorant',
  'league of legends': 'League of Legends',
  r5apex: 'Apex Legends',
  r5apex_dx12: 'Apex Legends',
  overwatch: 'Overwatch 2',
  bg3: "Baldur's Gate 3",
  bg3_dx11: "Baldur's Gate 3",
  starfield: 'Starfield',
  witcher3: 'The Witcher 3',
  cod: 'Call of Duty',
  helldivers2: 'Helldivers 2',
  'minecraft.windows': 'Minecraft',
  factorio: 'Factorio',
  hl2_linux: 'a Source engine game',
  rocketleague: 'Rocket League',
  destiny2: 'Destiny 2',
  eurotrucks2: 'Euro Truck Simulator 2',
};

/** Folders under steamapps/common that hold tools, not games. */
const STEAM_TOOLS = /^(proton|steam linux runtime|steamlinuxruntime|steamworks shared|steamvr|steamworks common)/i;
const STEAM_GAME_DIR = /steamapps[\\/]+common[\\/]+([^\\/]+)/gi;

function executableKey(proc: ProcessInfo): string {
  const path = proc.args?.[0] ?? proc.name;
  return (path.split(/[\\/]/).pop() ?? path).replace(/\.exe$/i, '').toLowerCase();
}

function steamGame(args: readonly string[]): string | null {
  for (const arg of args) {
    for (const match of arg.matchAll(STEAM_GAME_DIR)) {
      const folder = match[1]?.trim();
      if (folder && !STEAM_TOOLS.test(folder)) return folder;
    }
  }
  return null;
}

/** Finds a running game in a process list; `ignorePids` are our own processes. */
export function detectGame(processes: readonly ProcessInfo[], ignorePids: ReadonlySet<number> = new Set()): Detection {
  for (const proc of processes) {
    if (ignorePids.has(proc.pid)) continue;
    const known = KNOWN_GAMES[executableKey(proc)] ?? KNOWN_GAMES[proc.name.replace(/\.exe$/i, '').toLowerCase()];
    if (known) return { detected: true, name: known };
    if (proc.args) {
      const fromSteam = steamGame(proc.args);
      if (fromSteam) return { detected: true, name: fromSteam };
      // lutris-wrapper's first argument is the game's title.
      if (proc.name === 'lutris-wrapper') {
        const title = proc.args[1];
        return { detected: true, name: title && !/^\d+$/.test(title) ? title : 'a Lutris game' };
      }
    }
  }
  return { detected: false };
}

/** Options of the game probe. */
export interface GameProbeOptions {
  platform?: NodeJS.Platform;
  run?: CommandRunner;
  procRoot?: string;
  ownPids?: () => Iterable<number>;
}

/** Reports whether a game runs; unknown where the process list cannot be read. */
export function createGameProbe(options: GameProbeOptions = {}): SignalProbe {
  const platform = options.platform ?? process.platform;
  const ownPids = options.ownPids ?? (() => [process.pid]);
  return {
    name: 'games',
    async read() {
      const processes = await listProcesses(platform, { run: options.run, procRoot: options.procRoot });
      return processes === null ? {} : { game: detectGame(processes, new Set(ownPids())) };
    },
  };
}
