// Validates Amazon States Language definitions with AWS's own validator: the language
// service of the AWS Toolkit for VS Code (npm amazon-states-language-service), i.e. its
// JSON schema (JSONPath and JSONata query languages) plus its semantic checks (StartAt and
// Next targets, unreachable states, Catch/Choice targets, Parameters' `.$` values, ...).
//
// That service (1.16.1, the newest release) knows JSONata's fields but not which query
// language allows which field: it accepts `Parameters`, `ResultPath` or `"x.$"` keys in a
// JSONata state, and `Arguments` or `Output` in a JSONPath one, which Step Functions
// rejects at CreateStateMachine. queryLanguageDiagnostics() below adds those rules, from
// the States Language spec; its diagnostics say so (source "routines-query-language"),
// the service's carry source "amazon-states-language-service".
//
// Input on stdin: one JSON array of definitions, or JSON lines (one definition per line).
// A definition is an object or a string holding the definition's JSON text.
// Output on stdout: JSON lines, one result per definition, in input order:
//   {"ok": bool, "diagnostics": [{"message", "severity", "path", "range", "source", "code"}]}
// `ok` is false when any diagnostic has severity "error"; warnings, information and hints
// are listed but pass. `path` is the JSON path of the node a diagnostic points at
// (e.g. "States.Fetch.Next"), `range` its 0-based line/character span in the text that
// was validated (the definition pretty-printed with two spaces, if given as an object).
// Exit status 0 when every definition is valid, 1 when any is not, 2 on bad input.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { getLanguageService, TextDocument } = require('amazon-states-language-service');

const SEVERITY = { 1: 'error', 2: 'warning', 3: 'information', 4: 'hint' };

function parseInput(text) {
  const trimmed = text.trim();
  if (trimmed === '') return [];
  if (trimmed.startsWith('[')) {
    const parsed = JSON.parse(trimmed);
    if (!Array.isArray(parsed)) throw new Error('expected a JSON array of definitions');
    return parsed;
  }
  return trimmed
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line, index) => {
      try {
        return JSON.parse(line);
      } catch (error) {
        throw new Error(`line ${index + 1}: ${error.message}`);
      }
    });
}

// The JSON path ("States.A.Next") of the innermost node whose span holds [start, end).
function pathAt(root, start, end) {
  const segments = [];
  let node = root;
  for (;;) {
    const children =
      node.type === 'object' ? node.properties : node.type === 'array' ? node.items : [];
    const child = children.find(
      (c) => c.offset <= start && end <= c.offset + c.length && !(c.offset === node.offset && c.length === node.length),
    );
    if (!child) break;
    if (child.type === 'property') {
      segments.push(String(child.keyNode.value));
      if (!child.valueNode || !(child.valueNode.offset <= start && end <= child.valueNode.offset + child.valueNode.length)) break;
      node = child.valueNode;
    } else {
      segments.push(node.items.indexOf(child));
      node = child;
    }
  }
  return formatPath(segments);
}

// "States.A.Arguments" from its segments; a segment that is no plain name (spaces, dots,
// "Payload.$") is quoted as a JSON string: States."My state"."Payload.$".
function formatPath(segments) {
  return segments
    .map((s) => (typeof s === 'number' || /^[A-Za-z_][A-Za-z0-9_]*$/.test(s) ? String(s) : JSON.stringify(s)))
    .join('.');
}

// Fields of a state that only one query language allows (states-language.net, "JSONata
// and JSONPath"). Catchers: ResultPath (JSONPath) against Output (JSONata); Choice rules:
// Condition (JSONata) against Variable and the comparison operators (JSONPath).
const JSONPATH_ONLY = new Set([
  'InputPath',
  'Parameters',
  'ResultSelector',
  'ResultPath',
  'OutputPath',
  'ItemsPath',
  'SecondsPath',
  'TimestampPath',
  'ErrorPath',
  'CausePath',
  'TimeoutSecondsPath',
  'HeartbeatSecondsPath',
  'MaxConcurrencyPath',
  'ToleratedFailurePercentagePath',
  'ToleratedFailureCountPath',
]);
const JSONATA_ONLY = new Set(['Arguments', 'Output', 'Items']);
const JSONATA_CHOICE_RULE = new Set(['Condition', 'Next', 'Comment', 'Assign', 'Output']);
// Where a state's nested state machines are: not scanned as the state's own fields.
const NESTED = { Map: ['ItemProcessor', 'Iterator'], Parallel: ['Branches'] };

function property(node, name) {
  return node?.type === 'object' ? node.properties.find((p) => p.keyNode.value === name) : undefined;
}

function stringValue(node, name) {
  const value = property(node, name)?.valueNode;
  return value?.type === 'string' ? value.value : undefined;
}

function queryLanguageDiagnostics(root, document) {
  const diagnostics = [];
  const report = (prop, path, message) =>
    diagnostics.push({
      message,
      severity: 'error',
      path: formatPath(path),
      range: {
        start: document.positionAt(prop.keyNode.offset),
        end: document.positionAt(prop.keyNode.offset + prop.keyNode.length),
      },
      source: 'routines-query-language',
    });
  const notFor = (language, field) =>
    `The QueryLanguage is set to '${language}', but field '${field}' is only supported for the ` +
    `'${language === 'JSONata' ? 'JSONPath' : 'JSONata'}' QueryLanguage`;
  const entries = (node) => (node?.type === 'object' ? node.properties : []);

  // `"key.$"` anywhere under node (a field of a JSONata state).
  const dollarKeys = (node, path) => {
    if (node?.type === 'object') {
      for (const prop of node.properties) {
        const key = String(prop.keyNode.value);
        if (key.endsWith('.$')) {
          report(
            prop,
            [...path, key],
            `Field '${key}': a name ending in '.$' is JSONPath syntax, and the QueryLanguage is set ` +
              "to 'JSONata' (an expression is a string in '{% ... %}')",
          );
        }
        dollarKeys(prop.valueNode, [...path, key]);
      }
    } else if (node?.type === 'array') {
      node.items.forEach((item, i) => dollarKeys(item, [...path, i]));
    }
  };

  const machineLanguage = stringValue(root, 'QueryLanguage') ?? 'JSONPath';
  const walk = (machine, path) => {
    for (const stateProp of entries(property(machine, 'States')?.valueNode)) {
      const state = stateProp.valueNode;
      if (state?.type !== 'object') continue;
      const at = [...path, 'States', String(stateProp.keyNode.value)];
      const type = stringValue(state, 'Type');
      const declared = stringValue(state, 'QueryLanguage');
      if (machineLanguage === 'JSONata' && declared === 'JSONPath') {
        report(
          property(state, 'QueryLanguage'),
          [...at, 'QueryLanguage'],
          "'QueryLanguage' can not be 'JSONPath' if set to 'JSONata' for whole state machine",
        );
      }
      const language = declared ?? machineLanguage;
      const nested = NESTED[type] ?? [];
      const check = (prop, fieldPath, field) => {
        if (language === 'JSONata' && JSONPATH_ONLY.has(field)) report(prop, fieldPath, notFor(language, field));
        if (language === 'JSONPath' && JSONATA_ONLY.has(field)) report(prop, fieldPath, notFor(language, field));
      };
      for (const prop of state.properties) {
        const field = String(prop.keyNode.value);
        check(prop, [...at, field], field);
        if (language === 'JSONata' && !nested.includes(field)) dollarKeys(prop.valueNode, [...at, field]);
      }
      const items = (name) => {
        const list = property(state, name)?.valueNode;
        return list?.type === 'array' ? list.items.map((item, i) => [item, [...at, name, i]]) : [];
      };
      for (const [catcher, catcherPath] of items('Catch')) {
        for (const prop of entries(catcher)) {
          const field = String(prop.keyNode.value);
          if (field === 'ResultPath' || field === 'Output') check(prop, [...catcherPath, field], field);
        }
      }
      if (type === 'Choice') {
        for (const [rule, rulePath] of items('Choices')) {
          for (const prop of entries(rule)) {
            const field = String(prop.keyNode.value);
            const wrong = language === 'JSONata' ? !JSONATA_CHOICE_RULE.has(field) : field === 'Condition';
            if (wrong) report(prop, [...rulePath, field], notFor(language, field));
          }
        }
      }
      // Nested state machines inherit the top-level language, not the Map's or Parallel's.
      if (type === 'Map') {
        for (const name of NESTED.Map) {
          const inner = property(state, name)?.valueNode;
          if (inner) walk(inner, [...at, name]);
        }
      }
      if (type === 'Parallel') items('Branches').forEach(([branch, branchPath]) => walk(branch, branchPath));
    }
  };
  if (root?.type === 'object') walk(root, []);
  return diagnostics;
}

async function validateOne(service, definition, index) {
  const text = typeof definition === 'string' ? definition : JSON.stringify(definition, null, 2);
  const document = TextDocument.create(`inmemory://definition/${index}.asl.json`, 'json', 1, text);
  const jsonDocument = service.parseJSONDocument(document);
  const found = await service.doValidation(document, jsonDocument);
  const diagnostics = found.map((d) => {
    const start = document.offsetAt(d.range.start);
    const end = document.offsetAt(d.range.end);
    const out = {
      message: d.message,
      severity: SEVERITY[d.severity] ?? 'error', // the LSP reads a missing severity as an error
      path: jsonDocument.root ? pathAt(jsonDocument.root, start, end) : '',
      range: d.range,
      source: 'amazon-states-language-service',
    };
    if (d.code !== undefined) out.code = d.code;
    return out;
  });
  diagnostics.push(...queryLanguageDiagnostics(jsonDocument.root, document));
  return { ok: !diagnostics.some((d) => d.severity === 'error'), diagnostics };
}

async function main() {
  let definitions;
  try {
    definitions = parseInput(readFileSync(0, 'utf8'));
  } catch (error) {
    process.stderr.write(`validate.mjs: unreadable input: ${error.message}\n`);
    process.exit(2);
  }
  const service = getLanguageService({});
  const lines = [];
  let allOk = true;
  for (const [index, definition] of definitions.entries()) {
    const result = await validateOne(service, definition, index);
    allOk &&= result.ok;
    lines.push(JSON.stringify(result));
  }
  process.stdout.write(lines.map((line) => `${line}\n`).join(''));
  process.exitCode = allOk ? 0 : 1;
}

await main();
