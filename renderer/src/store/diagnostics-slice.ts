/** Diagnostics: the hardware doctor, recent logs (live), and the redacted report. */
import type { DoctorReport, LogEntry } from '../../../main/ipc/contract.js';
import type { SliceCreator } from './app-store.js';
import { fromResult, idle, loading, type Loadable } from './loadable.js';

/** State and actions of the Diagnostics screen. */
export interface DiagnosticsSlice {
  doctor: Loadable<DoctorReport>;
  logs: LogEntry[];
  logsStatus: Loadable<true>;
  report: Loadable<{ text: string }>;
  loadDoctor(): Promise<void>;
  loadLogs(): Promise<void>;
  loadReport(): Promise<string | null>;
}

/** The diagnostics slice. */
export const createDiagnosticsSlice: SliceCreator<DiagnosticsSlice> = (set, _get, api) => ({
  doctor: idle(),
  logs: [],
  logsStatus: idle(),
  report: idle(),
  loadDoctor: async () => {
    set((s) => ({ doctor: loading(s.doctor) }));
    const result = await api.getDoctor();
    set((s) => ({ doctor: fromResult(result, s.doctor) }));
  },
  loadLogs: async () => {
    set((s) => ({ logsStatus: loading(s.logsStatus) }));
    const result = await api.getLogs({ limit: 300 });
    set(result.ok ? { logs: result.value, logsStatus: { status: 'ready', value: true, error: null } } : { logsStatus: { status: 'error', value: null, error: result.error } });
  },
  loadReport: async () => {
    set((s) => ({ report: loading(s.report) }));
    const result = await api.getReport();
    set((s) => ({ report: fromResult(result, s.report) }));
    return result.ok ? result.value.text : null;
  },
});
