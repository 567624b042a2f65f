// The component's entry: hands the host's imports to the helpers and
// exports the connector. Only this file imports ferry:connector, so app.js
// and ferry_helpers.js load in plain Node for `node --test`.
import { send } from 'ferry:connector/http@0.3.0';
import { emit } from 'ferry:connector/log@0.3.0';
import { get, set, delete as forget } from 'ferry:connector/state@0.3.0';
import { setHost } from './ferry_helpers.js';
import { source } from './app.js';

setHost({ send, emit, state: { get, set, delete: forget } });

export { source };
