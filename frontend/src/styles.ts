import { css, html } from "lit";

// Home Assistant's theme variables (with fallbacks): light and dark themes both work.
export const shared = css`
  :host {
    color: var(--primary-text-color, #212121);
    font-family: var(--ha-font-family-body, var(--paper-font-body1_-_font-family, Roboto, sans-serif));
    --dt-radius: var(--ha-card-border-radius, 12px);
    --dt-card: var(--card-background-color, var(--ha-card-background, #fff));
    --dt-divider: var(--divider-color, rgba(0, 0, 0, 0.12));
    --dt-secondary: var(--secondary-text-color, #727272);
    --dt-primary: var(--primary-color, #03a9f4);
    --dt-on-primary: var(--text-primary-color, #fff);
    --dt-error: var(--error-color, #db4437);
    --dt-success: var(--success-color, #43a047);
    --dt-warning: var(--warning-color, #ffa600);
  }
  *,
  *::before,
  *::after {
    box-sizing: border-box;
  }
  button {
    font: inherit;
    color: inherit;
    cursor: pointer;
  }
  button:disabled {
    cursor: default;
    opacity: 0.5;
  }
  .btn {
    display: inline-flex;
    align-items: center;
    justify-content: center;
    gap: 6px;
    min-height: 36px;
    padding: 0 14px;
    border-radius: 18px;
    border: 1px solid var(--dt-divider);
    background: transparent;
    color: var(--dt-primary);
    font-weight: 500;
    white-space: nowrap;
  }
  .btn.primary {
    background: var(--dt-primary);
    border-color: var(--dt-primary);
    color: var(--dt-on-primary);
  }
  .btn.danger {
    color: var(--dt-error);
  }
  .btn.primary.danger {
    background: var(--dt-error);
    border-color: var(--dt-error);
    color: #fff;
  }
  .icon-btn {
    display: inline-flex;
    align-items: center;
    justify-content: center;
    width: 40px;
    height: 40px;
    border: none;
    border-radius: 50%;
    background: transparent;
    color: inherit;
    padding: 0;
  }
  .icon-btn:hover,
  .btn:hover {
    background-color: rgba(127, 127, 127, 0.12);
  }
  .btn.primary:hover {
    filter: brightness(1.08);
    background: var(--dt-primary);
  }
  svg.icon {
    width: 24px;
    height: 24px;
    fill: currentColor;
    flex: none;
  }
  .card {
    background: var(--dt-card);
    border-radius: var(--dt-radius);
    border: 1px solid var(--ha-card-border-color, var(--dt-divider));
    box-shadow: var(--ha-card-box-shadow, none);
  }
  input,
  select {
    font: inherit;
    color: var(--primary-text-color, #212121);
    background: var(--input-fill-color, var(--secondary-background-color, rgba(127, 127, 127, 0.08)));
    border: 1px solid var(--dt-divider);
    border-radius: 8px;
    min-height: 36px;
    padding: 4px 10px;
    max-width: 100%;
  }
  select option {
    background: var(--dt-card);
    color: var(--primary-text-color, #212121);
  }
  input:focus,
  select:focus {
    outline: 2px solid var(--dt-primary);
    outline-offset: -1px;
  }
  a {
    color: var(--dt-primary);
  }
  .secondary {
    color: var(--dt-secondary);
  }
  .error {
    color: var(--dt-error);
  }
  .empty {
    margin: 24px auto;
    max-width: 560px;
    padding: 24px;
    text-align: center;
    line-height: 1.5;
  }
  .empty h2 {
    margin: 0 0 8px;
    font-size: 1.2em;
    font-weight: 500;
  }
  .empty p {
    margin: 8px 0;
    color: var(--dt-secondary);
  }
  .banner {
    display: flex;
    align-items: center;
    gap: 12px;
    padding: 10px 14px;
    margin: 0 0 12px;
    border-radius: var(--dt-radius);
    border: 1px solid var(--dt-divider);
    background: var(--dt-card);
    line-height: 1.4;
  }
  .banner.warning {
    border-left: 4px solid var(--dt-warning);
  }
  .banner.info {
    border-left: 4px solid var(--dt-primary);
  }
  .badge {
    display: inline-block;
    padding: 1px 8px;
    border-radius: 10px;
    font-size: 0.8em;
    font-weight: 500;
    background: rgba(127, 127, 127, 0.16);
  }
  .badge.match,
  .badge.ok {
    background: var(--dt-success);
    color: #fff;
  }
  .badge.miss {
    background: var(--dt-warning);
    color: #000;
  }
  .badge.unknown {
    background: rgba(127, 127, 127, 0.35);
  }
  .badge.failing {
    background: var(--dt-error);
    color: #fff;
  }
  .scrim {
    position: fixed;
    inset: 0;
    z-index: 10;
    display: flex;
    align-items: center;
    justify-content: center;
    background: rgba(0, 0, 0, 0.5);
    padding: 16px;
  }
  .dialog {
    background: var(--dt-card);
    color: var(--primary-text-color, #212121);
    border-radius: var(--dt-radius);
    width: min(560px, 100%);
    max-height: calc(100% - 16px);
    overflow: auto;
    padding: 20px;
    box-shadow: 0 8px 32px rgba(0, 0, 0, 0.4);
  }
  .dialog.wide {
    width: min(960px, 100%);
  }
  .dialog h2 {
    margin: 0 0 12px;
    font-size: 1.25em;
    font-weight: 500;
  }
  .dialog .actions {
    display: flex;
    flex-wrap: wrap;
    justify-content: flex-end;
    gap: 8px;
    margin-top: 16px;
  }
  .grid {
    display: grid;
    gap: 8px;
    grid-template-columns: repeat(auto-fill, minmax(150px, 1fr));
  }
  @media (max-width: 600px) {
    .grid {
      grid-template-columns: repeat(auto-fill, minmax(110px, 1fr));
    }
    .dialog {
      padding: 14px;
    }
    .scrim {
      padding: 0;
    }
    /* A question ("This is…", a confirmation) stays a card in the middle; a face's
       detail takes the whole screen. */
    .dialog {
      width: calc(100% - 24px);
      max-height: calc(100% - 24px);
    }
    .dialog.wide {
      align-self: stretch;
      max-height: 100%;
      border-radius: 0;
      width: 100%;
    }
  }
  /* A row of controls above a view's content. */
  .toolbar {
    display: flex;
    flex-wrap: wrap;
    align-items: center;
    gap: 8px;
    margin-bottom: 12px;
    min-height: 40px;
  }
  .spacer {
    flex: 1;
  }
`;

// Material Design Icons paths (Apache 2.0), inlined: HA's ha-icon may not be loaded.
export const mdi = {
  menu: "M3,6H21V8H3V6M3,11H21V13H3V11M3,16H21V18H3V16Z",
  close: "M19,6.41L17.59,5L12,10.59L6.41,5L5,6.41L10.59,12L5,17.59L6.41,19L12,13.41L17.59,19L19,17.59L13.41,12L19,6.41Z",
  back: "M20,11V13H8L13.5,18.5L12.08,19.92L4.16,12L12.08,4.08L13.5,5.5L8,11H20Z",
  delete: "M19,4H15.5L14.5,3H9.5L8.5,4H5V6H19M6,19A2,2 0 0,0 8,21H16A2,2 0 0,0 18,19V7H6V19Z",
  account: "M12,4A4,4 0 0,1 16,8A4,4 0 0,1 12,12A4,4 0 0,1 8,8A4,4 0 0,1 12,4M12,14C16.42,14 20,15.79 20,18V20H4V18C4,15.79 7.58,14 12,14Z",
  upload: "M9,16V10H5L12,3L19,10H15V16H9M5,20V18H19V20H5Z",
  plus: "M19,13H13V19H11V13H5V11H11V5H13V11H19V13Z",
  check: "M21,7L9,19L3.5,13.5L4.91,12.09L9,16.17L19.59,5.59L21,7Z",
  refresh: "M17.65,6.35C16.2,4.9 14.21,4 12,4A8,8 0 0,0 4,12A8,8 0 0,0 12,20C15.73,20 18.84,17.45 19.73,14H17.65C16.83,16.33 14.61,18 12,18A6,6 0 0,1 6,12A6,6 0 0,1 12,6C13.66,6 15.14,6.69 16.22,7.78L13,11H20V4L17.65,6.35Z",
};

export function icon(path: string) {
  return html`<svg class="icon" viewBox="0 0 24 24" aria-hidden="true"><path d=${path}></path></svg>`;
}
