import type { Gates } from '../gates.js';
import type { TpfResult } from '../production-function.js';
import { energySourceText, fmt, qty, qualityText, serviceText } from './run-helpers.js';
import type { Dimension, EnergySource, MeasurementRow, ReportOptions, Rich, RunDisclosure } from './types.js';

export interface DimensionInputs {
  row: MeasurementRow | null;
  headlineMissing: string | null;
  energy: EnergySource;
  gates: Gates;
  gatesResolved: { qualitySource: string; serviceSource: string };
  tpf: TpfResult | null;
  options: ReportOptions;
  pue: number;
  pueSource: string;
  theta: number;
  ceilings: RunDisclosure['ceilings'];
}

export function buildDimensions(d: DimensionInputs): Dimension[] {
  const { row, energy, tpf, options } = d;
  const eLabel = energySourceText(energy);
  const missingRow: Rich = [{ em: 'missing' }, `: ${d.headlineMissing ?? 'no headline measurement'}`];
  const dims: Dimension[] = [];

  // 1. J/token at (q*, s*).
  dims.push({
    key: 'joules-per-token',
    title: 'J/token at a stated (q*, s*)',
    status: row ? (energy.label === 'MODELED' ? 'modeled' : 'measured') : 'missing',
    lines: [
      row
        ? [
            { strong: `e_tok = ${qty(row.joulesPerToken, 'J/token')}` },
            row.ciLowJoulesPerToken !== null && row.ciHighJoulesPerToken !== null
              ? ` (95% CI ${qty(row.ciLowJoulesPerToken, 'J/token')} to ${qty(row.ciHighJoulesPerToken, 'J/token')})`
              : ' (no CI)',
            ` for `,
            { code: row.variant },
            ` at `,
            { code: row.id },
            `; ${eLabel}.`,
          ]
        : missingRow,
      [
        `q* = ${qualityText(d.gates)} (${d.gatesResolved.qualitySource}); s* = ${serviceText(d.gates)} (${d.gatesResolved.serviceSource}).`,
      ],
    ],
    values: {
      joulesPerToken: row?.joulesPerToken ?? null,
      ciLowJoulesPerToken: row?.ciLowJoulesPerToken ?? null,
      ciHighJoulesPerToken: row?.ciHighJoulesPerToken ?? null,
      measurementId: row?.id ?? null,
      meter: energy.meterId,
      method: energy.method,
      measured: energy.measured,
      boundary: energy.accountingBoundary,
    },
  });

  // 2. Binding constraint.
  const rho = row ? (row.joulesPerToken / row.flopsPerToken) * 1e15 : null;
  dims.push({
    key: 'binding-constraint',
    title: 'Binding constraint and ρ − ρ*',
    status: tpf ? 'derived' : 'missing',
    lines: tpf
      ? [
          [
            { strong: `${tpf.binding}-bound` },
            `: ρ = ${fmt(tpf.rho)} J/PFLOP, ρ* = θ·P_facility/K_eff = ${fmt(tpf.rhoStar)} J/PFLOP, ρ − ρ* = ${fmt(tpf.rhoMinusRhoStar)} J/PFLOP (${tpf.rhoMinusRhoStar > 0 ? '> 0: power-bound' : tpf.rhoMinusRhoStar < 0 ? '< 0: compute-bound' : '= 0: both ceilings equal'}).`,
          ],
          [
            `Ceilings: compute K_eff/c_tok = ${qty(tpf.computeCeiling, 'tokens/s')}, power θ·P_facility/e_tok = ${qty(tpf.powerCeiling, 'tokens/s')}; e_tok ${energy.label}, P_facility declared.`,
          ],
        ]
      : [
          row
            ? [
                `ρ = e_tok/c_tok = ${fmt(rho ?? Number.NaN)} J/PFLOP (${energy.label}); `,
                { em: 'missing' },
                ': ρ* needs the facility power (pass --facility-power W).',
              ]
            : missingRow,
        ],
    values: {
      binding: tpf?.binding ?? null,
      rhoJoulesPerPflop: tpf?.rho ?? rho,
      rhoStarJoulesPerPflop: tpf?.rhoStar ?? null,
      rhoMinusRhoStarJoulesPerPflop: tpf?.rhoMinusRhoStar ?? null,
      computeCeilingTokensPerS: tpf?.computeCeiling ?? null,
      powerCeilingTokensPerS: tpf?.powerCeiling ?? null,
    },
  });

  // 3. PUE-adjusted wall-plug power.
  const fp = options.facilityPowerW;
  dims.push({
    key: 'facility-power',
    title: 'PUE-adjusted wall-plug power (not TDP)',
    status: fp !== undefined ? 'declared' : 'missing',
    lines: [
      fp !== undefined
        ? [
            { strong: `P_facility = ${qty(fp, 'W')} / PUE ${fmt(d.pue)} = ${qty(fp / d.pue, 'W')}` },
            ` (facility power declared with --facility-power; PUE from the ${d.pueSource}); θ = ${fmt(d.theta)} (${options.theta !== undefined ? 'declared' : 'default: e_tok and P_facility at one boundary'}).`,
          ]
        : [
            { em: 'missing' },
            `: no facility power declared (pass --facility-power W); PUE ${fmt(d.pue)} (${d.pueSource}).`,
          ],
      row
        ? [
            `For reference, average power at the meter during the headline measurement: ${qty(row.avgPowerW, 'W')} (${energy.label}, ${energy.meterBoundary}); this is neither wall-plug power nor TDP.`,
          ]
        : [],
    ].filter((l) => l.length > 0),
    values: {
      facilityPowerW: fp ?? null,
      pue: d.pue,
      itPowerW: fp !== undefined ? fp / d.pue : null,
      theta: d.theta,
      meterAvgPowerW: row?.avgPowerW ?? null,
    },
  });

  // 4. K_eff convention.
  dims.push({
    key: 'k-eff',
    title: 'K_eff convention (realized vs peak)',
    status: row ? 'measured' : 'missing',
    lines: row
      ? [
          [
            { strong: `K_eff realized = ${qty(row.achievedFlopsPerS, 'FLOP/s')}` },
            ` (analytic FLOPs per call / measured median time, `,
            { code: row.id },
            `); c_tok = ${qty(row.flopsPerToken, 'FLOP/token')} (analytic cost model, softmax excluded).`,
          ],
          d.ceilings.flopsPerSecond !== null
            ? [
                `Peak K_eff = ${qty(d.ceilings.flopsPerSecond, 'FLOP/s')} (${d.ceilings.source}); realized is ${fmt((100 * row.achievedFlopsPerS) / d.ceilings.flopsPerSecond)}% of it.`,
              ]
            : [
                'Peak K_eff: ',
                { em: 'missing' },
                ' (the results carry no ceiling); the production function uses the realized figure.',
              ],
        ]
      : [missingRow],
    values: {
      realizedFlopsPerS: row?.achievedFlopsPerS ?? null,
      peakFlopsPerS: d.ceilings.flopsPerSecond,
      flopsPerToken: row?.flopsPerToken ?? null,
    },
  });

  // 5. Utilization-adjusted token output.
  const u = options.utilization;
  dims.push({
    key: 'token-output',
    title: 'Utilization-adjusted token output',
    status: row && u !== undefined ? 'declared' : 'missing',
    lines: row
      ? [
          [
            `Kernel throughput while busy: ${qty(row.tokensPerSecond, 'tokens/s')} (measured time; U = 1 inside the benchmark loop).`,
          ],
          u !== undefined
            ? [
                { strong: `U = ${fmt(u)} (declared)` },
                `: ${qty(row.tokensPerSecond * u, 'tokens/s')} utilization-adjusted.`,
              ]
            : [{ em: 'missing' }, ': utilization U not declared (pass --util U).'],
          tpf
            ? [
                { strong: `Q̇ = ${qty(tpf.qdot, 'tokens/s')}` },
                ` = min(compute, power ceiling) × Φ (1: the lever gain is already in e_tok and c_tok) × U (${fmt(u ?? 1)}${u === undefined ? ', assumed' : ''}).`,
              ]
            : ['Q̇: ', { em: 'missing' }, ' (needs --facility-power).'],
        ]
      : [missingRow],
    values: {
      tokensPerS: row?.tokensPerSecond ?? null,
      utilization: u ?? null,
      adjustedTokensPerS: row && u !== undefined ? row.tokensPerSecond * u : null,
      qdotTokensPerS: tpf?.qdot ?? null,
    },
  });

  // 6. Energy-accounting boundary.
  dims.push({
    key: 'boundary',
    title: 'Energy-accounting boundary',
    status: 'declared',
    lines: [
      [
        { strong: `Boundary: ${energy.accountingBoundary}` },
        ` (${options.boundary !== undefined ? 'declared with --boundary' : 'declared in the results file (etok bench --boundary)'}); the meter covers: ${energy.meterBoundary} (${energy.label}).`,
      ],
      row && d.pue > 1
        ? [
            `At the facility (× PUE ${fmt(d.pue)}): ${qty(row.joulesPerToken * d.pue, 'J/token')} (derived; ${energy.label} at the meter).`,
          ]
        : [],
    ].filter((l) => l.length > 0),
    values: {
      accountingBoundary: energy.accountingBoundary,
      meterBoundary: energy.meterBoundary,
      pue: d.pue,
    },
  });
  return dims;
}

/** Builds the report for one or more results files (grouped into runs by device, meter and accounting). */
