// How numbers look on the terminal: one aligned line per epoch.
import type { EpochEntry } from '../run/history.js';

export function formatEpochLine(entry: EpochEntry, epochs: number): string {
  const width = String(epochs).length;
  const parts = [
    `epoch ${String(entry.epoch).padStart(width)}/${epochs}`,
    `loss ${formatLoss(entry.loss)}`,
  ];
  if (entry.accuracy !== null) parts.push(`acc ${formatPercent(entry.accuracy)}`);
  if (entry.valLoss !== null) parts.push(`val_loss ${formatLoss(entry.valLoss)}`);
  if (entry.valAccuracy !== null) parts.push(`val_acc ${formatPercent(entry.valAccuracy)}`);
  if (entry.valR2 !== null && entry.valR2 !== undefined) parts.push(`val_r2 ${entry.valR2.toFixed(4).padStart(7)}`);
  parts.push(`${formatRate(entry.samplesPerSec)} samples/s`, `${entry.seconds.toFixed(1).padStart(6)}s`);
  return parts.join('  ');
}

export function formatLoss(loss: number): string {
  // Regression losses are in the target's units, squared: large ones in exponent form.
  return (Math.abs(loss) >= 1e5 ? loss.toExponential(3) : loss.toFixed(4)).padStart(8);
}

export function formatPercent(fraction: number): string {
  return `${(fraction * 100).toFixed(2).padStart(6)}%`;
}

function formatRate(rate: number): string {
  return Math.round(rate).toLocaleString('en-US').padStart(10);
}
