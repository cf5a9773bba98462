/**
 * A cell's tags as an editable form, and back.
 *
 * The meaning of every tag comes from the server's grammar (`GET grammar`, which serves
 * `nb2pipe.compile.tag_table.grammar()`), aliases included, so Kale's `block:` and `prev:` read as step and
 * after. Tags the grammar does not know (other tools' `hide-input`, …) are kept untouched.
 */
import { TagRule } from './request';

export interface TagForm {
  /** '' or a role of the grammar (parameters, imports, functions, skip, metrics). */
  role: string;
  step: string;
  after: string[];
  image: string;
  requirements: string;
  cpu: string;
  memory: string;
  gpu: string;
  /** '' (default: on), 'on' or 'off'. */
  cache: string;
  retries: string;
  timeout: string;
  /** Tagged `serve`: the cell also runs on every prediction request, inside the model. */
  serve: boolean;
  /** `serve:NAME`: the variable a request's rows are bound to ('' when nb2pipe decides). */
  serveInput: string;
  /** Tags kept as they are. */
  other: string[];
}

export function emptyForm(): TagForm {
  return {
    role: '',
    step: '',
    after: [],
    image: '',
    requirements: '',
    cpu: '',
    memory: '',
    gpu: '',
    cache: '',
    retries: '',
    timeout: '',
    serve: false,
    serveInput: '',
    other: []
  };
}

const VALUE_FIELDS = ['image', 'cpu', 'memory', 'gpu', 'retries', 'timeout'] as const;

/** alias or name → canonical name, for the grammar's rows. */
function canonicalNames(grammar: TagRule[]): Map<string, TagRule> {
  const names = new Map<string, TagRule>();
  for (const rule of grammar) {
    names.set(rule.name, rule);
    for (const alias of rule.aliases) {
      names.set(alias, rule);
    }
  }
  return names;
}

/** Read `tags` into a form. */
export function parseTags(tags: string[], grammar: TagRule[]): TagForm {
  const names = canonicalNames(grammar);
  const form = emptyForm();
  for (const raw of tags) {
    const tag = raw.trim();
    const colon = tag.indexOf(':');
    const key = colon < 0 ? tag : tag.slice(0, colon);
    const value = colon < 0 ? '' : tag.slice(colon + 1).trim();
    const rule = names.get(key);
    if (rule && rule.name === 'serve') {
      // a flag, not a role: it joins the step's other tags
      form.serve = true;
      form.serveInput = value;
      continue;
    }
    if (rule && rule.argument === null && colon < 0) {
      // `metrics` may join a step start; any other role is the cell's only one
      form.role = rule.name;
      continue;
    }
    if (key === 'limit' && value) {
      // Kale: limit:cpu:2, limit:memory:1Gi, limit:nvidia.com/gpu:1
      const cut = value.lastIndexOf(':');
      const resource = value.slice(0, cut);
      const amount = value.slice(cut + 1);
      const field = resource === 'cpu' || resource === 'memory' ? resource : 'gpu';
      if (cut > 0 && (field !== 'gpu' || resource.includes('gpu'))) {
        form[field] = amount;
        continue;
      }
    }
    if (!rule || rule.argument === null || colon < 0) {
      form.other.push(raw);
      continue;
    }
    switch (rule.name) {
      case 'step':
        form.step = value;
        break;
      case 'after':
        for (const name of value.split(',').map(v => v.trim())) {
          if (name && !form.after.includes(name)) {
            form.after.push(name);
          }
        }
        break;
      case 'requirements':
        form.requirements = form.requirements ? `${form.requirements},${value}` : value;
        break;
      case 'cache':
        form.cache = ['off', 'false', 'no', 'disabled'].includes(value.toLowerCase())
          ? 'off'
          : 'on';
        break;
      default:
        if ((VALUE_FIELDS as readonly string[]).includes(rule.name)) {
          form[rule.name as (typeof VALUE_FIELDS)[number]] = value;
        } else {
          form.other.push(raw);
        }
    }
  }
  return form;
}

/** The tags that say what `form` says, in the grammar's canonical spelling. */
export function formToTags(form: TagForm): string[] {
  const tags: string[] = [];
  const stepCell = form.role === '' || form.role === 'metrics';
  if (stepCell && form.step.trim()) {
    tags.push(`step:${form.step.trim()}`);
  }
  if (form.role) {
    tags.push(form.role);
  }
  if (stepCell && form.serve) {
    tags.push(form.serveInput.trim() ? `serve:${form.serveInput.trim()}` : 'serve');
  }
  if (stepCell) {
    const after = form.after.filter(a => a && a !== form.step.trim());
    if (after.length) {
      tags.push(`after:${after.join(',')}`);
    }
    const requirements = form.requirements
      .split(',')
      .map(r => r.trim())
      .filter(Boolean);
    if (form.image.trim()) {
      tags.push(`image:${form.image.trim()}`);
    }
    if (requirements.length) {
      tags.push(`requirements:${requirements.join(',')}`);
    }
    for (const field of ['cpu', 'memory', 'gpu'] as const) {
      if (form[field].trim()) {
        tags.push(`${field}:${form[field].trim()}`);
      }
    }
    if (form.cache) {
      tags.push(`cache:${form.cache}`);
    }
    for (const field of ['retries', 'timeout'] as const) {
      if (form[field].trim()) {
        tags.push(`${field}:${form[field].trim()}`);
      }
    }
  }
  return [...tags, ...form.other];
}

const STEP_NAME = /^[a-z_][a-z0-9_]*$/;
const CPU = /^(\d+(\.\d+)?|\d+m)$/;
const MEMORY = /^\d+(\.\d+)?(Ki|Mi|Gi|Ti|Pi|K|M|G|T|P|k)?$/;

/** field → problem, checked before writing so that a typo never reaches the notebook. */
export function checkForm(form: TagForm): Record<string, string> {
  const problems: Record<string, string> = {};
  const step = form.step.trim();
  if (step && !STEP_NAME.test(step)) {
    problems.step = 'a lower-case identifier, e.g. train_model';
  }
  if (form.cpu.trim() && !CPU.test(form.cpu.trim())) {
    problems.cpu = 'cores, e.g. 2 or 500m';
  }
  if (form.memory.trim() && !MEMORY.test(form.memory.trim())) {
    problems.memory = 'a size, e.g. 2Gi';
  }
  if (form.gpu.trim() && !/^\d+$/.test(form.gpu.trim())) {
    problems.gpu = 'a whole number';
  }
  if (form.retries.trim() && !/^\d+$/.test(form.retries.trim())) {
    problems.retries = 'a whole number';
  }
  if (form.serveInput.trim() && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(form.serveInput.trim())) {
    problems.serveInput = 'a variable name, e.g. raw';
  }
  const timeout = Number(form.timeout.trim());
  if (form.timeout.trim() && !(Number.isFinite(timeout) && timeout > 0)) {
    problems.timeout = 'seconds, e.g. 600';
  }
  return problems;
}

/** The grammar row of a field, for its tooltip. */
export function meaning(grammar: TagRule[] | null, name: string): string | undefined {
  const rule = grammar?.find(r => r.name === name);
  return rule ? `${rule.meaning} (${rule.example})` : undefined;
}
