/**
 * The graph of a functional Layers topology (model.json, a Keras config), checked before tfjs builds it: tfjs
 * would loop forever on some damaged graphs (found by fuzzing Keras files).
 */

/** A name from the file, fit for a one-line message (control characters shown as `?`, long names cut). */
function clip(s: string, n: number): string {
  const t = s.replace(/[\u0000-\u001f\u007f]/g, '?');
  return t.length > n ? `${t.slice(0, n - 1)}…` : t;
}

/**
 * tfjs builds a functional model by applying each layer once all of its inputs exist, until no layer is left: a
 * call on no inputs, an input from a layer the model does not have, or a cycle would keep it looping forever
 * (found by fuzzing Keras configs). Checked first, with what is wrong.
 */
export function checkGraph(topology: Record<string, unknown>): void {
  const t = (topology.model_config ?? topology) as { config?: unknown };
  const layers = t.config && typeof t.config === 'object' && !Array.isArray(t.config) ? (t.config as { layers?: unknown }).layers : undefined;
  if (!Array.isArray(layers)) return;
  const inputsOf = new Map<string, string[]>();
  /** The calls of each layer (an InputLayer's output exists uncalled), and the calls other layers use. */
  const calls = new Map<string, number>();
  const used: { by: string; name: string; call: number }[] = [];
  for (const l of layers as { class_name?: unknown; name?: unknown; config?: { name?: unknown }; inbound_nodes?: unknown }[]) {
    if (!l || typeof l !== 'object' || l.inbound_nodes === undefined) continue; // a Sequential's layers list none
    const name = String(l.name ?? l.config?.name);
    calls.set(name, Math.max(Array.isArray(l.inbound_nodes) ? l.inbound_nodes.length : 0, l.class_name === 'InputLayer' ? 1 : 0));
    if (!Array.isArray(l.inbound_nodes)) throw new Error(`layer "${clip(name, 80)}" has malformed inbound_nodes`);
    const from: string[] = [];
    for (const node of l.inbound_nodes as unknown[]) {
      if (!Array.isArray(node) || !node.length) throw new Error(`layer "${clip(name, 80)}" is called on no inputs`);
      for (const input of node) {
        if (!Array.isArray(input) || typeof input[0] !== 'string') throw new Error(`layer "${clip(name, 80)}" has a malformed input`);
        from.push(input[0]);
        used.push({ by: name, name: input[0], call: Number(input[1] ?? 0) });
      }
    }
    inputsOf.set(name, from);
  }
  for (const u of used) {
    const n = calls.get(u.name);
    if (n !== undefined && !(u.call >= 0 && u.call < n))
      throw new Error(
        `layer "${clip(u.by, 80)}" takes the output of call ${u.call} of layer "${clip(u.name, 80)}", which is called ${n} time${n === 1 ? '' : 's'}`,
      );
  }
  // Every input exists; no layer depends on itself (depth-first, iterative: a chain may be thousands long).
  const state = new Map<string, 1 | 2>(); // 1 on the current path, 2 done
  for (const start of inputsOf.keys()) {
    if (state.has(start)) continue;
    const stack: { name: string; next: number }[] = [{ name: start, next: 0 }];
    state.set(start, 1);
    while (stack.length) {
      const top = stack[stack.length - 1];
      const from = inputsOf.get(top.name)!;
      if (top.next >= from.length) {
        state.set(top.name, 2);
        stack.pop();
        continue;
      }
      const input = from[top.next++];
      if (!inputsOf.has(input)) throw new Error(`layer "${clip(top.name, 80)}" takes an input from "${clip(input, 80)}", which the model does not have`);
      if (state.get(input) === 1) {
        const cycle = [...stack.slice(stack.findIndex((f) => f.name === input)).map((f) => f.name), input];
        throw new Error(`its layers form a cycle (${clip(cycle.reverse().join(' → '), 200)})`);
      }
      if (!state.has(input)) {
        state.set(input, 1);
        stack.push({ name: input, next: 0 });
      }
    }
  }
}
