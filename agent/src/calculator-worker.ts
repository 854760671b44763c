/**
 * The calculator's mathjs, in a worker so a runaway expression can be stopped (`terminate`) without
 * stopping the agent. Hardened as mathjs's security guide advises: the functions that change the
 * instance (`import`, `createUnit`) or parse text into new expressions (`evaluate`, `parse`,
 * `simplify`, `derivative`, `resolve`, `reviver`) are disabled inside expressions; simplify and
 * derivative are offered as operations of the tool instead. Functions that build large matrices are
 * disabled too, so an expression cannot fill the container's memory.
 */
import { all, create, type MathNode } from 'mathjs';

export type CalculatorRequest = { id: number; operation: 'evaluate' | 'simplify' | 'derivative'; expression: string; variable: string };
export type CalculatorResponse = { id: number; ok: true; result: string } | { id: number; ok: false; error: string };
/** Sent once mathjs is loaded, so loading never counts against a calculation's time. */
export type CalculatorReady = { ready: true };

const math = create({ ...all });
const { evaluate, parse, simplify, derivative } = math;

const disabled = (name: string) => () => {
  throw new Error(`function ${name} is disabled in the calculator`);
};
// `config` would change the shared instance (number type, precision) for every later calculation.
const DISABLED = ['import', 'createUnit', 'config', 'evaluate', 'parse', 'simplify', 'derivative', 'resolve', 'reviver', 'compile', 'zeros', 'ones', 'identity', 'range', 'matrixFromFunction', 'random', 'randomInt', 'pickRandom'];
math.import(Object.fromEntries(DISABLED.map((name) => [name, disabled(name)])), { override: true });

/** Plain digits from 1e-9 to 1e15 (students read 120000 more easily than 1.2e+5); 14 significant digits hide float noise. */
function format(value: unknown): string {
  return math.format(value, { precision: 14, lowerExp: -9, upperExp: 15 });
}

function calculate({ operation, expression, variable }: CalculatorRequest): string {
  switch (operation) {
    case 'evaluate':
      return format(evaluate(expression));
    case 'simplify':
      return simplify(parse(expression)).toString();
    case 'derivative':
      return (derivative(parse(expression) as MathNode, variable) as MathNode).toString();
  }
}

declare const self: Worker;
/** A calculation longer than this may have built something big: collected at once after it. */
const COLLECT_AFTER_MS = 100;

self.onmessage = (event: MessageEvent<CalculatorRequest>) => {
  const request = event.data;
  const began = performance.now();
  let response: CalculatorResponse;
  try {
    response = { id: request.id, ok: true, result: calculate(request) };
  } catch (error) {
    response = { id: request.id, ok: false, error: error instanceof Error ? error.message : String(error) };
  }
  self.postMessage(response);
  // The parent stops a calculation that grows the agent by 256 MB; memory a big one leaves for the
  // collector to find later would count against the next calculation.
  if (performance.now() - began > COLLECT_AFTER_MS) Bun.gc(true);
};
self.postMessage({ ready: true } satisfies CalculatorReady);
