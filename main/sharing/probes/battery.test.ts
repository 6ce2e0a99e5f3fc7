import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { batteryFromSupplies, createLinuxBatteryProbe, createMacBatteryProbe, parsePmsetBattery, parseUevent } from './battery.js';

// Captured shapes of /sys/class/power_supply/*/uevent.
const BAT0_DISCHARGING = 'POWER_SUPPLY_NAME=BAT0\nPOWER_SUPPLY_TYPE=Battery\nPOWER_SUPPLY_STATUS=Discharging\nPOWER_SUPPLY_PRESENT=1\nPOWER_SUPPLY_CAPACITY=57\n';
const AC_OFFLINE = 'POWER_SUPPLY_NAME=AC\nPOWER_SUPPLY_TYPE=Mains\nPOWER_SUPPLY_ONLINE=0\n';
const AC_ONLINE = 'POWER_SUPPLY_NAME=AC\nPOWER_SUPPLY_TYPE=Mains\nPOWER_SUPPLY_ONLINE=1\n';
const MOUSE = 'POWER_SUPPLY_NAME=hidpp_battery_0\nPOWER_SUPPLY_TYPE=Battery\nPOWER_SUPPLY_SCOPE=Device\nPOWER_SUPPLY_STATUS=Discharging\nPOWER_SUPPLY_ONLINE=1\n';

test('battery: uevent files parse into properties', () => {
  assert.deepEqual(parseUevent(AC_OFFLINE), { NAME: 'AC', TYPE: 'Mains', ONLINE: '0' });
});

test('battery: laptop unplugged, laptop plugged in, desktop, desktop with a wireless mouse', () => {
  assert.deepEqual(batteryFromSupplies([parseUevent(BAT0_DISCHARGING), parseUevent(AC_OFFLINE)]), { onBattery: true, percent: 57 });
  assert.deepEqual(batteryFromSupplies([parseUevent(BAT0_DISCHARGING), parseUevent(AC_ONLINE)]), { onBattery: false, percent: 57 });
  assert.deepEqual(batteryFromSupplies([]), { onBattery: false, percent: null });
  assert.deepEqual(batteryFromSupplies([parseUevent(MOUSE)]), { onBattery: false, percent: null });
  assert.equal(batteryFromSupplies([parseUevent(BAT0_DISCHARGING)]).onBattery, true, 'no adapter listed: the battery status decides');
});

test('battery: pmset output on battery, on AC, on a desktop Mac', () => {
  assert.deepEqual(parsePmsetBattery("Now drawing from 'Battery Power'\n -InternalBattery-0 (id=4653155)\t85%; discharging; 4:32 remaining present: true\n"), { onBattery: true, percent: 85 });
  assert.deepEqual(parsePmsetBattery("Now drawing from 'AC Power'\n -InternalBattery-0 (id=4653155)\t100%; charged; 0:00 remaining present: true\n"), { onBattery: false, percent: 100 });
  assert.deepEqual(parsePmsetBattery("Now drawing from 'AC Power'\n"), { onBattery: false, percent: null });
  assert.equal(parsePmsetBattery(''), null);
});

test('battery: the Linux probe reads a sysfs tree and is unknown without one', async () => {
  const root = await mkdtemp(join(tmpdir(), 'silkworm-power-'));
  try {
    for (const [name, text] of [['BAT0', BAT0_DISCHARGING], ['AC', AC_OFFLINE]] as const) {
      await mkdir(join(root, name));
      await writeFile(join(root, name, 'uevent'), text);
    }
    assert.deepEqual(await createLinuxBatteryProbe({ root }).read(), { battery: { onBattery: true, percent: 57 } });
    assert.deepEqual(await createLinuxBatteryProbe({ root: join(root, 'missing') }).read(), {});
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('battery: the macOS probe is unknown when pmset is missing', async () => {
  const probe = createMacBatteryProbe({ run: async () => ({ ok: false, reason: 'missing', message: 'pmset is not installed' }) });
  assert.deepEqual(await probe.read(), {});
});
