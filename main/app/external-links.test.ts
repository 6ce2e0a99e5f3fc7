import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isAllowedExternalUrl } from './external-links.js';

test('only allow-listed https URLs may open in the browser', () => {
  assert.equal(isAllowedExternalUrl('https://tonviewer.com/transaction/abc'), true);
  assert.equal(isAllowedExternalUrl('https://app.tonkeeper.com/ton-connect?v=2&id=ab&r=%7B%7D'), true, 'the wallet app opens the TON Connect link');
  assert.equal(isAllowedExternalUrl('https://app.tonkeeper.com.attacker.example/ton-connect'), false);
  for (const url of ['http://tonviewer.com/', 'https://tonviewer.com.attacker.example/', 'https://user:pw@tonviewer.com/', 'https://tonviewer.com:8443/', 'file:///etc/passwd', 'smb://host/share', 'ms-msdt:/id', 'javascript:alert(1)', 'app://silkworm/', 'not a url']) {
    assert.equal(isAllowedExternalUrl(url), false, url);
  }
});
