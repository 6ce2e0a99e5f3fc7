import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appRequestPath, isAllowedExternalUrl, isAppUrl } from './url-policy.js';

test('only allow-listed https URLs may open in the browser', () => {
  assert.equal(isAllowedExternalUrl('https://tonviewer.com/transaction/abc'), true);
  assert.equal(isAllowedExternalUrl('https://app.tonkeeper.com/ton-connect?v=2&id=ab&r=%7B%7D'), true, 'the wallet app opens the TON Connect link');
  assert.equal(isAllowedExternalUrl('https://app.tonkeeper.com.attacker.example/ton-connect'), false);
  for (const url of ['http://tonviewer.com/', 'https://tonviewer.com.attacker.example/', 'https://user:pw@tonviewer.com/', 'https://tonviewer.com:8443/', 'file:///etc/passwd', 'smb://host/share', 'ms-msdt:/id', 'javascript:alert(1)', 'app://silkworm/', 'not a url']) {
    assert.equal(isAllowedExternalUrl(url), false, url);
  }
});

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
