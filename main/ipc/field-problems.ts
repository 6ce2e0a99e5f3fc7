/**
 * A refused form, in the owner's words: each schema issue becomes one plain sentence naming the
 * field as the screen labels it ("Max GPU temperature can be at most 110 °C."), with the field's
 * path so the screen shows it beside that field. Used for schema refusals at the IPC door and
 * for settings the sharing policy refuses, so both read the same.
 */
import type { z } from 'zod';
import type { FieldProblem } from './result.js';

/** How a field is named on screen, and the unit its numbers are in. */
interface FieldLabel {
  label: string;
  unit?: string;
}

/** The form fields, by the last part of their path. */
const FIELDS: Readonly<Record<string, FieldLabel>> = {
  idleThresholdMinutes: { label: 'Away after', unit: 'min' },
  maxGpuTempC: { label: 'Max GPU temperature', unit: '°C' },
  maxPowerW: { label: 'Max GPU power', unit: 'W' },
  maxVramMb: { label: 'Polite VRAM', unit: 'MB' },
  maxGpuLayers: { label: 'Polite GPU layers' },
  maxTokensPerSecond: { label: 'Polite speed', unit: 'tokens/s' },
  start: { label: 'From' },
  end: { label: 'Until' },
  days: { label: 'Days' },
  pricePerKwh: { label: 'Price per kWh' },
  currency: { label: 'Currency' },
  tonPrice: { label: 'Price of 1 TON' },
  watts: { label: 'Power while sharing', unit: 'W' },
  address: { label: 'Payout address' },
  passphrase: { label: 'Passphrase' },
  words: { label: 'Recovery phrase' },
};

/** The leading path parts a verb wraps its form in (`patch.`, `electricity.`). */
const WRAPPERS = new Set(['patch', 'electricity']);

function labelOf(path: readonly PropertyKey[]): FieldLabel {
  const key = [...path].reverse().find((part) => typeof part === 'string');
  const known = typeof key === 'string' ? FIELDS[key] : undefined;
  if (known) return known;
  return { label: typeof key === 'string' ? key.replace(/([A-Z])/g, ' $1').replace(/^./, (c) => c.toUpperCase()) : 'This value' };
}

function amount(value: unknown, unit: string | undefined): string {
  return `${String(value)}${unit ? (unit === '°C' ? ' °C' : ` ${unit}`) : ''}`;
}

/** One issue as a sentence. Custom messages written for people are kept as they are. */
export function plainIssue(issue: z.core.$ZodIssue): string {
  const { label, unit } = labelOf(issue.path);
  switch (issue.code) {
    case 'too_big':
      return issue.origin === 'array' ? `${label}: at most ${String(issue.maximum)} entries.` : `${label} can be at most ${amount(issue.maximum, unit)}.`;
    case 'too_small':
      if (issue.origin === 'array') return `${label}: choose at least ${String(issue.minimum)}.`;
      if (issue.origin === 'string') return `Enter ${label.toLowerCase()}.`;
      return `${label} must be at least ${amount(issue.minimum, unit)}.`;
    case 'invalid_type':
      return issue.expected === 'number' ? `${label} must be a number.` : `${label} is missing or not valid.`;
    case 'invalid_value':
      return `${label}: choose one of the offered options.`;
    case 'not_multiple_of':
      return `${label} must be a whole number.`;
    case 'unrecognized_keys':
      return 'This form sent a field the app does not know; reload the page.';
    default:
      // Regex and refine messages are written for people ("The price per kWh must be a number such as 0.25").
      return /^[a-z]/.test(issue.message) ? `${label}: ${issue.message}.` : issue.message;
  }
}

/** Every issue as a field problem; the path leaves out the verb's wrapper (`patch.maxGpuTempC` → `maxGpuTempC`). */
export function fieldProblems(issues: readonly z.core.$ZodIssue[]): FieldProblem[] {
  return issues.map((issue) => {
    const path = issue.path.filter((part, index) => !(index === 0 && typeof part === 'string' && WRAPPERS.has(part)));
    return { path: path.map(String).join('.'), message: plainIssue(issue) };
  });
}
