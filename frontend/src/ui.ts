import { html, nothing, type TemplateResult } from "lit";
import { navigate } from "./api";

export function define(name: string, element: CustomElementConstructor): void {
  // The module may be loaded twice (a new version after an update): define once.
  if (!customElements.get(name)) customElements.define(name, element);
}

const stop = (event: Event) => event.stopPropagation();

export interface ConfirmOptions {
  title: string;
  text: string | TemplateResult;
  confirm: string;
  busy: boolean;
  error?: string;
  onConfirm: () => void;
  onCancel: () => void;
}

/** A modal confirmation: `confirm-ok` / `confirm-cancel`. */
export function confirmDialog(options: ConfirmOptions): TemplateResult {
  return html`
    <div class="scrim" @click=${() => !options.busy && options.onCancel()}>
      <div
        class="dialog"
        role="alertdialog"
        aria-modal="true"
        aria-label=${options.title}
        data-testid="confirm-dialog"
        @click=${stop}
      >
        <h2>${options.title}</h2>
        <div>${options.text}</div>
        ${options.error ? html`<p class="error" data-testid="confirm-error">${options.error}</p>` : nothing}
        <div class="actions">
          <button class="btn" data-testid="confirm-cancel" ?disabled=${options.busy} @click=${options.onCancel}>
            Cancel
          </button>
          <button
            class="btn primary danger"
            data-testid="confirm-ok"
            ?disabled=${options.busy}
            @click=${options.onConfirm}
          >
            ${options.confirm}
          </button>
        </div>
      </div>
    </div>
  `;
}

/** A link inside Home Assistant's frontend (no page reload). */
export function haLink(path: string, text: string, testid?: string): TemplateResult {
  return html`<a
    href=${path}
    data-testid=${testid ?? nothing}
    @click=${(event: MouseEvent) => {
      if (event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
      event.preventDefault();
      navigate(path);
    }}
    >${text}</a
  >`;
}

export { stop };
