import type { SendMailOptions } from 'nodemailer';

/** An email with a plain-text body and an HTML alternative (Django's `EmailMultiAlternatives`). */
export class EmailMessage {
  readonly subject: string;
  readonly text: string;
  readonly html: string;
  readonly from: string;
  readonly to: readonly string[];

  constructor(fields: {
    subject: string;
    text: string;
    html: string;
    from: string;
    to: readonly string[];
  }) {
    this.subject = fields.subject;
    this.text = fields.text;
    this.html = fields.html;
    this.from = fields.from;
    this.to = fields.to;
  }

  /** The message as nodemailer composes it: multipart/alternative, Date and Message-ID set. */
  toNodemailer(): SendMailOptions {
    return {
      from: this.from,
      to: [...this.to],
      subject: this.subject,
      text: this.text,
      html: this.html,
      date: new Date(),
      headers: { 'Auto-Submitted': 'auto-generated' },
    };
  }
}
