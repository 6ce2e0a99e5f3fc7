// electron-builder afterPack hook: flips Electron's fuses on the packed binary with
// @electron/fuses (installed with electron-builder), then reads them back and fails the
// build if any is not as required. Runs before code signing, as fuses must.
import { join } from 'node:path';
import { FuseV1Options, FuseVersion, flipFuses, getCurrentFuseWire } from '@electron/fuses';

/** The fuses every Silkworm build ships with (security.md: fuses and ASAR integrity). */
export const REQUIRED_FUSES = {
  [FuseV1Options.RunAsNode]: false, // ELECTRON_RUN_AS_NODE ignored: the binary is never a general Node
  [FuseV1Options.EnableNodeOptionsEnvironmentVariable]: false, // NODE_OPTIONS / NODE_EXTRA_CA_CERTS ignored
  [FuseV1Options.EnableNodeCliInspectArguments]: false, // --inspect and SIGUSR1 ignored
  [FuseV1Options.EnableCookieEncryption]: true,
  [FuseV1Options.EnableEmbeddedAsarIntegrityValidation]: true, // a modified app.asar does not start
  [FuseV1Options.OnlyLoadAppFromAsar]: true, // no app/ folder or default_app fallback
  [FuseV1Options.GrantFileProtocolExtraPrivileges]: false, // file:// gets no special powers (we use app://)
};

function binaryPath({ appOutDir, electronPlatformName, packager }) {
  const name = packager.appInfo.productFilename;
  if (electronPlatformName === 'darwin' || electronPlatformName === 'mas') return join(appOutDir, `${name}.app`);
  if (electronPlatformName === 'win32') return join(appOutDir, `${name}.exe`);
  return join(appOutDir, packager.executableName ?? name);
}

/** The hook. */
export default async function afterPack(context) {
  const binary = binaryPath(context);
  await flipFuses(binary, { version: FuseVersion.V1, // Apple Silicon builds need their ad-hoc signature redone after the binary changes (Arch.arm64 = 3).
    resetAdHocDarwinSignature: context.electronPlatformName === 'darwin' && context.arch === 3, ...REQUIRED_FUSES });
  const wire = await getCurrentFuseWire(binary);
  // getCurrentFuseWire answers @electron/fuses' FuseState: 49 = ENABLE, 48 = DISABLE.
  const wrong = Object.entries(REQUIRED_FUSES).filter(([fuse, enabled]) => wire[fuse] !== (enabled ? 49 : 48));
  if (wrong.length > 0) throw new Error(`fuses not as required on ${binary}: ${wrong.map(([fuse]) => FuseV1Options[fuse]).join(', ')}`);
  console.log(`  • fuses flipped and verified on ${binary}`);
}
