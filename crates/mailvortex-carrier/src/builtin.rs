//! The built-in template set: ordinary, unremarkable English mails of the
//! kind people send each other every day. Users replace or extend it with
//! their own TOML file (see [`crate::templates`]); a per-node set in the
//! local language blends better than any shared default.

use crate::templates::{AttachmentTemplate, Theme};

fn theme(name: &str, subjects: &[&str], bodies: &[&str], attachments: &[(&str, &str)]) -> Theme {
    Theme {
        name: name.to_string(),
        subjects: subjects.iter().map(|s| s.to_string()).collect(),
        bodies: bodies.iter().map(|s| s.to_string()).collect(),
        attachments: attachments
            .iter()
            .map(|(n, m)| AttachmentTemplate::new(*n, *m))
            .collect(),
    }
}

pub(crate) fn themes() -> Vec<Theme> {
    vec![
        theme(
            "scans",
            &[
                "Scanned document",
                "Scan from {weekday}",
                "The scan you asked for",
                "Document scan {date}",
                "Signed copy",
            ],
            &[
                "Hi,\n\nhere is the scan you asked for.\n\nBest regards\n",
                "Hello,\n\nplease find the scanned document attached.\nLet me know if \
                 anything is hard to read.\n\nThanks\n",
                "Hi,\n\nattached is the signed copy. The original is in the post.\n\n\
                 Kind regards\n",
                "Here it is, scanned this morning.\n",
            ],
            &[
                ("scan_{compact_date}.pdf", "application/pdf"),
                ("Scan {date}.pdf", "application/pdf"),
                ("document_{n}.pdf", "application/pdf"),
                ("signed.pdf", "application/pdf"),
            ],
        ),
        theme(
            "photos",
            &[
                "Photo",
                "Picture from {weekday}",
                "Photos from the weekend",
                "A quick picture",
                "Here you go",
            ],
            &[
                "Hi,\n\nhere is the photo from the other day.\n\nCheers\n",
                "Found this one on my phone, thought you would like it.\n",
                "Hi!\n\nAs promised, the picture. The others will follow later.\n\n\
                 See you soon\n",
                "Hello,\n\nsending the photo you asked about.\n\nBest\n",
            ],
            &[
                // No JPEGs: a valid JPEG cannot hold random bytes. Photos
                // travel as a PDF (a photo saved or printed to PDF) or zipped.
                ("IMG_{n}.pdf", "application/pdf"),
                ("IMG_{compact_date}_{n}.zip", "application/zip"),
                ("photo_{date}.pdf", "application/pdf"),
                ("DSC_{n}.zip", "application/zip"),
            ],
        ),
        theme(
            "invoices",
            &[
                "Invoice {id}",
                "Your receipt",
                "Invoice for {month} {year}",
                "Receipt {date}",
                "Payment confirmation",
            ],
            &[
                "Hello,\n\nattached is the invoice for {month}. Let me know if anything \
                 is unclear.\n\nKind regards\n",
                "Hi,\n\nplease find the receipt attached for your records.\n\nThank you\n",
                "Dear customer,\n\nthank you for your payment. Your receipt is attached.\n\n\
                 Best regards\n",
            ],
            &[
                ("invoice-{n}.pdf", "application/pdf"),
                ("Invoice_{id}.pdf", "application/pdf"),
                ("receipt_{date}.pdf", "application/pdf"),
            ],
        ),
        theme(
            "notes",
            &[
                "Notes from the meeting",
                "The files",
                "Files for {weekday}",
                "Notes",
                "Documents as discussed",
            ],
            &[
                "Hi,\n\nhere are my notes from the meeting, zipped.\n\nBest\n",
                "Hello,\n\nthe files we talked about are in the attached archive.\n\n\
                 Regards\n",
                "Attached, as discussed. Shout if something is missing.\n",
            ],
            &[
                ("notes.zip", "application/zip"),
                ("files_{date}.zip", "application/zip"),
                ("documents.zip", "application/zip"),
                ("notes_{compact_date}.zip", "application/zip"),
            ],
        ),
        theme(
            "reports",
            &[
                "Monthly report",
                "Report for {month}",
                "Updated figures",
                "Numbers for {month} {year}",
                "Weekly summary",
            ],
            &[
                "Hi,\n\nattached is the report for {month}. Happy to go through it \
                 together.\n\nBest regards\n",
                "Hello,\n\nhere are the updated figures. Nothing unusual this time.\n\n\
                 Thanks\n",
                "Hi all,\n\nthe summary is attached.\n\nHave a good {weekday}\n",
            ],
            &[
                ("report_{month}_{year}.pdf", "application/pdf"),
                ("figures_{date}.zip", "application/zip"),
                ("summary.pdf", "application/pdf"),
            ],
        ),
    ]
}
