import { describe, expect, it } from 'vitest';
import { escapeHtml, formatNumber, jsonForScript } from '../../src/report/escape.js';

describe('escapeHtml', () => {
  it('escapes the five markup characters and nothing else', () => {
    expect(escapeHtml(`<script>"&'</script> ok`)).toBe('&lt;script&gt;&quot;&amp;&#39;&lt;/script&gt; ok');
    expect(escapeHtml(' could')).toBe(' could');
  });
});

describe('jsonForScript', () => {
  it('cannot close its script element and reads back unchanged', () => {
    const value = { tokens: ['</script><script>alert(1)</script>', '<!--', '"&<>', '\u2028'] };
    const text = jsonForScript(value);
    expect(text).not.toMatch(/<\/script/i);
    expect(text).not.toContain('<!--');
    expect(text).not.toContain('\u2028');
    expect(JSON.parse(text)).toEqual(value);
  });
});

describe('formatNumber', () => {
  it('shows integers as they are, others with 4 significant digits, none as a dash', () => {
    expect(formatNumber(512)).toBe('512');
    expect(formatNumber(0.83341234)).toBe('0.8334');
    expect(formatNumber(1.5e-5)).toBe('1.500e-5');
    expect(formatNumber(null)).toBe('–');
    expect(formatNumber(NaN)).toBe('–');
  });
});
