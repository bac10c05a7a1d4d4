import { describe, expect, it } from 'vitest';
import { histogramSvg, lineChartSvg, logTicks, niceTicks, scatterSvg } from '../../src/report/svg-chart.js';

const count = (s: string, re: RegExp) => (s.match(re) ?? []).length;

describe('niceTicks', () => {
  it('gives round steps inside the range', () => {
    expect(niceTicks(0, 500, 5)).toEqual([0, 100, 200, 300, 400, 500]);
    expect(niceTicks(-3.4, 0.85, 4)).toEqual([-3, -2, -1, 0]);
    expect(niceTicks(0.0028, 0.0032, 4)).toEqual([0.0028, 0.0029, 0.003, 0.0031, 0.0032]);
    expect(niceTicks(2, 2)).toEqual([2]);
  });
});

describe('logTicks', () => {
  it('gives the powers of ten inside, or 1-2-5 steps within one decade', () => {
    expect(logTicks(-1.5, 2.2)).toEqual([0.1, 1, 10, 100]);
    expect(logTicks(Math.log10(16), Math.log10(279))).toEqual([20, 50, 100, 200]);
  });
});

describe('lineChartSvg', () => {
  it('puts log-axis ticks inside the plot', () => {
    const svg = lineChartSvg({ id: 'loss', title: 'loss', xLabel: 'step', logY: true, series: [{ name: 'loss', points: [[1, 279], [2, 40], [3, 16]] }] });
    const ys = [...svg.matchAll(/<line class="grid" x1="[\d.]+" y1="([\d.]+)"/g)].map((m) => Number(m[1]));
    expect(ys).toHaveLength(4);
    for (const y of ys) expect(y).toBeGreaterThanOrEqual(22 - 0.1);
    for (const y of ys) expect(y).toBeLessThanOrEqual(190 - 30 + 0.1);
  });

  it('draws one path per series, a marker per event, and breaks the line at non-finite values', () => {
    const svg = lineChartSvg({
      id: 'loss',
      title: 'loss',
      xLabel: 'step',
      series: [
        { name: 'train', points: [[1, 3], [2, 2], [3, NaN], [4, 1]] },
        { name: 'eval', points: [[2, 2.5]] },
      ],
      markers: [{ x: 2, label: 'event 1' }],
    });
    expect(svg).toContain('data-chart="loss"');
    expect(svg).toContain('data-series="2"');
    expect(count(svg, /<g class="series/g)).toBe(2);
    expect(count(svg, /class="marker"/g)).toBe(1);
    const d = /<g class="series s0"[^>]*><path d="([^"]*)"/.exec(svg)![1]!;
    expect(count(d, /M/g)).toBe(2); // the NaN starts a new segment
    expect(count(d, /L/g)).toBe(1);
  });

  it('says there is no data instead of drawing an empty frame', () => {
    const svg = lineChartSvg({ id: 'l0', title: 'L0', xLabel: 'step', series: [{ name: 'L0', points: [] }] });
    expect(svg).toContain('data-series="0"');
    expect(svg).toContain('no data yet');
  });

  it('escapes titles and labels', () => {
    const svg = lineChartSvg({ id: 'x', title: '<b>&', xLabel: 'step', series: [{ name: '"s"', points: [[0, 1], [1, 2]] }] });
    expect(svg).not.toContain('<b>');
    expect(svg).toContain('&lt;b&gt;&amp;');
  });
});

describe('histogramSvg and scatterSvg', () => {
  it('draws one bar per bin and one point per finite pair', () => {
    const h = histogramSvg({ id: 'density', title: 'd', xLabel: 'log10', edges: [-2, -1, 0], counts: [3, 5] });
    expect(count(h, /<rect /g)).toBe(2);
    const s = scatterSvg({
      id: 'frontier', title: 'f', xLabel: 'L0', yLabel: 'EV',
      points: [{ x: 10, y: 0.7, label: 'l1=2', href: 'a/report.html' }, { x: 30, y: 0.85, label: 'l1=1' }, { x: NaN, y: 1, label: 'no' }],
    });
    expect(count(s, /<circle /g)).toBe(2);
    expect(s).toContain('href="a/report.html"');
  });
});
