// What the user reads when something fails: engine errors with a user-facing code and host errors written for
// the user are shown as they are; internal errors and unexpected exceptions only say what failed.
import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EngineRequestError } from '../../src/extension/engineClient';
import { commandTitle, logMessage, shortMessage, UserFacingError } from '../../src/extension/errorText';

describe('error texts', () => {
  it('shows user-facing engine errors with their file, and user-facing host errors as they are', () => {
    const e = new EngineRequestError({ code: 'badInput', message: 'is not valid JSON', file: '/w/broken/model.json' });
    assert.equal(shortMessage(e, 'Open Model'), '/w/broken/model.json: is not valid JSON');
    assert.equal(
      shortMessage(new UserFacingError('Layer 9 does not exist: model.json has 4 layers.\nmore'), 'Inspect Layer'),
      'Layer 9 does not exist: model.json has 4 layers.',
    );
    assert.equal(shortMessage(new UserFacingError('x'.repeat(400))).length, 298);
  });

  it('hides internal engine errors and unexpected host exceptions behind one line naming what failed', () => {
    const internal = new EngineRequestError({ code: 'internal', message: "Cannot read properties of undefined (reading 'map')" });
    assert.equal(shortMessage(internal, 'Train Model'), 'Train Model failed (internal error); see the log.');
    assert.equal(
      shortMessage(new TypeError("Cannot read properties of undefined (reading 'map')"), 'Feature Lens: mnist'),
      'Feature Lens: mnist failed (internal error); see the log.',
    );
    assert.equal(shortMessage('boom'), 'Feature Lens failed (internal error); see the log.');
    // The log keeps the raw text.
    assert.match(logMessage(new TypeError('reading map')), /TypeError: reading map/);
    assert.equal(logMessage('boom'), 'boom');
  });

  it('names commands by their title', () => {
    assert.equal(commandTitle('featureLens.computeTopActivations'), 'Compute Top Activations');
    assert.equal(commandTitle('featureLens.trainModel'), 'Train Model');
  });
});
