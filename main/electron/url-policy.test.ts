import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appRequestPath, isAppUrl } from './url-policy.js';

test('app:// requests stay inside the renderer folder', () => {
  assert.equal(isAppUrl('app://silkworm/index.html'), true);
  assert.equal(isAppUrl('app://other/index.html'), false);
  assert.equal(appRequestPath('app://silkworm/'), 'index.html');
  assert.equal(appRequestPath('app://silkworm/assets/a.js'), 'assets/a.js');
  // The URL parser resolves dot segments first, so these can never climb above the root.
  assert.equal(appRequestPath('app://silkworm/assets/%2e%2e/%2e%2e/secret'), 'secret');
  assert.equal(appRequestPath('app://silkworm/a/..%2f..%2fsecret'), null);
  assert.equal(appRequestPath('https://silkworm/index.html'), null);
});
