/**
 * The node page's time-lapse (issue 14): shown when the node's lens has a checkpoint series. An epoch slider
 * (a labelled range input: ←/→, Home/End, PageUp/PageDown) and Play/Pause; each checkpoint's frame (weights, top
 * images, feature maps, projections) is asked of the host once and kept here, so scrubbing back is instant; a
 * chart of the node's score and the overlap of consecutive top-k lists (timelapseChartLayout.ts).
 */
import type { NodePageMessage, PageUpdateMessage, TimelapseFrameMessage } from '../../shared/webviewProtocol';
import { button, el, section } from '../dom';
import { fmt } from '../pixelCanvas';
import { timelapseChartLayout, timelapsePoints } from '../timelapseChartLayout';
import { drawTimelapseChart } from '../timelapseChart';
import type { Send } from './page';
import { frameView } from './timelapseFrame';

/** Milliseconds each epoch stays on screen while playing. */
const PLAY_MS = 900;

interface Timelapse {
  layer: number;
  node: number;
  send: Send;
  epochs: number[];
  frames: Map<number, TimelapseFrameMessage>;
  views: Map<number, HTMLElement>;
  /** Positions asked of the host and not yet answered. */
  asked: Set<number>;
  index: number;
  timer?: ReturnType<typeof setInterval>;
}

/** The time-lapse of the node page on screen (one page at a time). */
let tl: Timelapse | undefined;

/** The (hidden until a series arrives) time-lapse section of node page `m`. */
export function timelapseSection(m: NodePageMessage, send: Send): HTMLElement {
  stop();
  tl = { layer: m.layer, node: m.node, send, epochs: [], frames: new Map(), views: new Map(), asked: new Set(), index: 0 };
  const s = section('Time-lapse over the checkpoints', 'timelapse');
  s.root.hidden = true;
  return s.root;
}

/** Handles a time-lapse message for page `m`; false when `u` is not one. */
export function timelapseUpdate(u: PageUpdateMessage, m: NodePageMessage): boolean {
  if (u.type !== 'timelapseSeries' && u.type !== 'timelapseFrame' && u.type !== 'timelapseStatus') return false;
  if (!tl || u.layer !== m.layer || u.node !== m.node || tl.layer !== m.layer || tl.node !== m.node) return true;
  if (u.type === 'timelapseSeries') series(tl, u.epochs);
  else if (u.type === 'timelapseFrame') frame(tl, u);
  else status(u.busy ? (u.message ?? 'Computing…') : (u.message ?? ''), u.busy);
  return true;
}

function series(t: Timelapse, epochs: number[]): void {
  const same = t.epochs.length === epochs.length && t.epochs.every((e, i) => e === epochs[i]);
  if (!same) {
    t.epochs = [...epochs];
    t.frames.clear();
    t.views.clear();
    t.asked.clear();
    t.index = epochs.length - 1;
  }
  const box = document.querySelector<HTMLElement>('#timelapse');
  if (!box) return;
  box.hidden = false;
  box.querySelector('.section-body')!.replaceChildren(controls(t), el('div', 'timelapse-view'));
  // Nothing is computed unasked: the page says how to get a checkpoint's frame.
  show(t, t.index, false);
}

/** Slider, Play/Pause, Compute all, the status line and the chart. */
function controls(t: Timelapse): HTMLElement {
  const bar = el('div', 'timelapse-controls');
  Object.assign(bar.style, { display: 'flex', flexWrap: 'wrap', alignItems: 'center', gap: '8px' });
  const label = el('label', 'timelapse-label', 'Epoch');
  label.htmlFor = 'timelapse-epoch';
  const slider = el('input');
  slider.type = 'range';
  slider.id = 'timelapse-epoch';
  slider.min = '0';
  slider.max = String(t.epochs.length - 1);
  slider.step = '1';
  slider.value = String(t.index);
  slider.style.accentColor = 'var(--vscode-button-background)';
  // Dragging shows what is computed; where it comes to rest (a key press, the mouse let go), the epoch is asked for.
  slider.addEventListener('input', () => show(t, Number(slider.value), false));
  slider.addEventListener('change', () => show(t, Number(slider.value)));
  const value = el('span', 'timelapse-value');
  value.style.minWidth = '16em';
  value.id = 'timelapse-value';
  value.setAttribute('aria-live', 'polite');
  const play = button('Play', 'play', () => (t.timer ? stop(t) : start(t)), { secondary: true, title: 'Play the epochs in order (Space)' });
  play.id = 'timelapse-play';
  const all = button('Compute All', 'run-all', () => ask(t, undefined), {
    secondary: true,
    title: 'Compute every checkpoint not computed yet (each one scans the test split once; kept for later)',
  });
  all.id = 'timelapse-all';
  const gif = button('Export GIF…', 'save', () => t.send({ type: 'exportTimelapse' }), {
    secondary: true,
    title: 'Save the epochs as an animated GIF (computes the ones not computed yet)',
  });
  gif.id = 'timelapse-gif';
  bar.append(label, slider, value, play, all, gif);
  const state = el('p', 'note');
  state.id = 'timelapse-status';
  state.setAttribute('role', 'status');
  const chart = el('canvas', 'chart');
  chart.id = 'timelapse-chart';
  chart.dataset.role = 'timelapse-chart';
  chart.setAttribute('role', 'img');
  const legendText = el(
    'p',
    'dim',
    'Line: the node\u2019s best top-k score per epoch (left axis). Bars: the share of its top-k images it kept from the previous checkpoint (right axis).',
  );
  const wrap = el('div', 'timelapse-head');
  wrap.append(bar, state, chart, legendText);
  return wrap;
}

/** Shows checkpoint `i`: its frame when computed (at once), else (with `askIfMissing`) asks the host for it. */
function show(t: Timelapse, i: number, askIfMissing = true): void {
  t.index = Math.max(0, Math.min(t.epochs.length - 1, i));
  const slider = document.querySelector<HTMLInputElement>('#timelapse-epoch');
  if (slider && Number(slider.value) !== t.index) slider.value = String(t.index);
  const epoch = t.epochs[t.index];
  const f = t.frames.get(t.index);
  const text = `epoch ${epoch} (${t.index + 1} of ${t.epochs.length})${f ? ` · top score ${fmt(f.topScore)}` : ' · not computed yet'}`;
  slider?.setAttribute('aria-valuetext', `epoch ${epoch}`);
  const value = document.querySelector('#timelapse-value');
  if (value) value.textContent = text;
  const view = document.querySelector('.timelapse-view');
  if (f) {
    let v = t.views.get(t.index);
    if (!v) t.views.set(t.index, (v = frameView(f)));
    view?.replaceChildren(v);
  } else {
    if (askIfMissing) ask(t, t.index);
    const why = t.asked.has(t.index) ? 'being computed' : 'not computed yet: move the slider to it, press Play or Compute All';
    view?.replaceChildren(el('p', 'note', `Epoch ${epoch} is ${why} (its top images take a scan of the test split with that checkpoint's weights).`));
  }
  chart(t);
}

/** Asks the host for checkpoint `i` (undefined: all not computed), once per checkpoint. */
function ask(t: Timelapse, i: number | undefined): void {
  const want = i === undefined ? t.epochs.map((_, j) => j).filter((j) => !t.frames.has(j)) : [i];
  const fresh = want.filter((j) => !t.asked.has(j) && !t.frames.has(j));
  if (!fresh.length) return;
  for (const j of fresh) t.asked.add(j);
  t.send({ type: 'timelapse', ...(i === undefined ? {} : { index: i }) });
}

function frame(t: Timelapse, f: TimelapseFrameMessage): void {
  if (t.epochs[f.index] !== f.epoch) return;
  t.frames.set(f.index, f);
  t.asked.delete(f.index);
  t.views.delete(f.index);
  if (f.index === t.index) show(t, t.index);
  else chart(t);
}

function chart(t: Timelapse): void {
  const canvas = document.querySelector<HTMLCanvasElement>('#timelapse-chart');
  if (!canvas) return;
  const points = timelapsePoints(t.epochs, t.frames);
  const width = Math.max(260, Math.min(560, (canvas.parentElement?.clientWidth ?? 420) - 8));
  drawTimelapseChart(canvas, timelapseChartLayout(points, t.index, width));
  const done = points.filter((p) => p.score !== undefined).length;
  canvas.setAttribute('aria-label', `score and top-k overlap over ${t.epochs.length} checkpoints, ${done} computed`);
}

function status(text: string, busy: boolean): void {
  const s = document.querySelector('#timelapse-status');
  if (s) s.textContent = text;
  // A failed or cancelled computation: what was asked may be asked again.
  if (!busy && tl) tl.asked.clear();
}

function start(t: Timelapse): void {
  show(t, t.index >= t.epochs.length - 1 ? 0 : t.index);
  setPlaying(true);
  t.timer = setInterval(() => {
    // Stops when its page is gone; waits on a checkpoint still being computed; stops at the last.
    if (tl !== t || !document.querySelector('#timelapse-epoch')) return stop(t);
    if (!t.frames.has(t.index)) return;
    if (t.index >= t.epochs.length - 1) return stop(t);
    show(t, t.index + 1);
  }, PLAY_MS);
}

function stop(t = tl): void {
  if (t?.timer) clearInterval(t.timer);
  if (t) t.timer = undefined;
  setPlaying(false);
}

function setPlaying(playing: boolean): void {
  const b = document.querySelector('#timelapse-play');
  if (!b) return;
  b.textContent = playing ? 'Pause' : 'Play';
  b.setAttribute('icon', playing ? 'debug-pause' : 'play');
  b.setAttribute('aria-pressed', String(playing));
}
