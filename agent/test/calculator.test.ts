/** The calculator tool: exact results from mathjs, its dangerous functions disabled, bounded in size and time. */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { Calculator, MAX_EXPRESSION_CHARS } from '../src/calculator.ts';
import { startFakeLlm, type FakeLlm } from './fake-llm.ts';
import { fakeConfig, postJson, startTestAgent, type TestAgent } from './helpers.ts';

// The chat below reuses this calculator, its worker loaded by then: an agent of its own would load mathjs again (about a second of CPU).
const calculator = new Calculator(1000);

describe('the calculator', () => {

  test('does arithmetic, units and simple statistics exactly', async () => {
    expect(await calculator.calculate('evaluate', '2/3 + 1/4')).toBe('0.91666666666667');
    expect(await calculator.calculate('evaluate', 'sqrt(2)^2 == 2')).toBe('true');
    expect(await calculator.calculate('evaluate', '5 km to mile')).toBe('3.1068559611867 mile');
    expect(await calculator.calculate('evaluate', 'mean([2, 4, 9])')).toBe('5');
    expect(await calculator.calculate('evaluate', 'median([3, 1, 2, 10])')).toBe('2.5');
    expect(await calculator.calculate('evaluate', 'det([[1, 2], [3, 4]])')).toBe('-2');
    expect(await calculator.calculate('evaluate', '3 m * 4 m to cm^2')).toBe('120000 cm^2');
    expect(await calculator.calculate('evaluate', '0.1 + 0.2')).toBe('0.3');
  }, 20_000);

  test('simplifies and differentiates algebra', async () => {
    expect(await calculator.calculate('simplify', '2x + 3x - x^2/x')).toBe('4 * x');
    expect(await calculator.calculate('derivative', 'x^3 + sin(x)', 'x')).toBe('3 * x ^ 2 + cos(x)');
    expect(await calculator.calculate('derivative', 't^2', 't')).toBe('2 * t');
  });

  test('refuses the functions mathjs’s security guide says to disable, and large matrices', async () => {
    for (const expression of ['import({pi: 3})', 'createUnit("bogus")', 'evaluate("1+1")', 'parse("1")', 'simplify("x+x")', 'derivative("x^2", "x")', 'zeros(10000, 10000)', 'range(1, 1e9)']) {
      expect(await calculator.calculate('evaluate', expression)).toMatch(/^Error: function \w+ is disabled/);
    }
    // Nothing an expression did changed the instance.
    expect(await calculator.calculate('evaluate', 'pi')).toBe('3.1415926535898');
  });

  test('answers an error for bad input and for an expression over the size limit', async () => {
    expect(await calculator.calculate('evaluate', '2 +* 3')).toStartWith('Error: ');
    expect(await calculator.calculate('evaluate', '1+'.repeat(MAX_EXPRESSION_CHARS) + '1')).toContain(`longer than ${MAX_EXPRESSION_CHARS} characters`);
  });

  test('refuses config(), which would change the shared instance for every later calculation', async () => {
    expect(await calculator.calculate('evaluate', 'config({precision: 5})')).toMatch(/^Error: function config is disabled/);
    expect(await calculator.calculate('evaluate', 'bignumber(1) / 3')).toBe('0.33333333333333');
  });

  test('stops a calculation that needs too much memory before the time limit, and keeps working after it', async () => {
    // Its own long time limit, so only the memory watch can stop it: resize() builds 3e8 entries (over 2 GB) in a few seconds.
    const patient = new Calculator(60_000);
    expect(await patient.calculate('evaluate', 'size(resize([1], [3e8]))')).toContain('needed too much memory');
    expect(await patient.calculate('evaluate', '6 * 7')).toBe('42');
  }, 60_000);

  test('a big but allowed calculation succeeds again and again: what one leaves behind is not counted against the next', async () => {
    const patient = new Calculator(60_000);
    for (let i = 0; i < 4; i += 1) expect(await patient.calculate('evaluate', 'size(resize([1], [9e6]))')).toBe('[9000000]');
  }, 120_000);

  test('stops a calculation that runs too long and keeps working after it', async () => {
    expect(await calculator.calculate('evaluate', 'isPrime(bignumber("170141183460469231731687303715884105727"))')).toContain('took longer than');
    expect(await calculator.calculate('evaluate', '6 * 7')).toBe('42');
  }, 20_000);
});

describe('the calculator tool in a chat', () => {
  let llm: FakeLlm;
  let agent: TestAgent;
  beforeAll(async () => {
    llm = startFakeLlm();
    agent = await startTestAgent({ config: fakeConfig(llm.url), calculator });
  });
  afterAll(async () => {
    await agent.stop();
    await llm.stop();
  });

  test('the model calls it and its result reaches the answer', async () => {
    const response = await agent.fetch('/chat', postJson({ message: 'Is my homework right? calculate: 12.5% * 368' }));
    expect(((await response.json()) as { response: string }).response).toBe('The calculator says: 12.5% * 368 = 46');
    expect(llm.requests[0]?.tools?.map((t) => t.function.name)).toContain('calculator');
    expect(llm.requests[1]?.messages.at(-1)).toMatchObject({ role: 'tool', content: '46' });
  }, 20_000);
});
