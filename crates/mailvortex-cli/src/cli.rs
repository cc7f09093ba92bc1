//! Command-line arguments.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Anonymous e-mail over your existing mail accounts.
#[derive(Debug, Parser)]
#[command(name = "mailvortex", version, about, long_about = None)]
pub(crate) struct Cli {
    /// Node home directory (several isolated nodes can run on one machine).
    #[arg(long, global = true, env = "MAILVORTEX_HOME")]
    pub(crate) home: Option<PathBuf>,
    /// Print machine-readable JSON instead of text.
    #[arg(long, global = true)]
    pub(crate) json: bool,
    /// Read the vault passphrase from standard input (first line) instead of MAILVORTEX_PASSPHRASE.
    #[arg(long, global = true)]
    pub(crate) passphrase_stdin: bool,
    /// Run protocol time this many times faster than real time, for tests and simulations only
    /// (mixing delays, retries and key rotation shrink accordingly; a real node keeps 1).
    #[arg(long, global = true, default_value_t = 1.0, value_name = "FACTOR")]
    pub(crate) time_factor: f64,
    /// With --time-factor: the Unix time in ms at which scaled protocol time equals real time.
    /// Give every process of a test network the same origin so that they agree on protocol time
    /// (default: this process's start).
    #[arg(
        long,
        global = true,
        env = "MAILVORTEX_TIME_ORIGIN",
        value_name = "UNIX_MS"
    )]
    pub(crate) time_origin: Option<u64>,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Create a node in the home directory.
    Init(InitArgs),
    /// Manage mail accounts.
    #[command(subcommand)]
    Account(AccountCommand),
    /// Print this node's invite link (share it; the app shows it as a QR code).
    Invite,
    /// Import invite links or descriptor files of correspondents and relays.
    Import(ImportArgs),
    /// Ask a mail address for its descriptor in an ordinary-looking mail (answered while both run).
    RequestDescriptor {
        /// The address to ask.
        address: String,
    },
    /// Export this node's signed descriptor to a file.
    ExportDescriptor {
        /// Output file.
        out: PathBuf,
    },
    /// Relay lists: sign one (as a directory) or import one.
    #[command(subcommand)]
    Relays(RelaysCommand),
    /// List known peers.
    Peers,
    /// Change node settings (only the options given).
    Settings(SettingsArgs),
    /// Print the default carrier templates (subjects, bodies, file names) as TOML; edit and save
    /// them as `templates.toml` in the node home to use your own.
    Templates,
    /// What each anonymity level hides and how long it takes (measured figures).
    Levels,
    /// Send a text or a file anonymously.
    Send(SendArgs),
    /// Delivery status with its timeline (all sent messages without an id).
    Status {
        /// Message id.
        id: Option<String>,
    },
    /// List received messages.
    Inbox,
    /// Show a received message.
    Read {
        /// Message id.
        id: String,
        /// Write the body to this file instead of printing it.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Run the node (receive, relay, send) until interrupted.
    Run,
    /// A self-contained local network showing one message travelling hop by hop.
    Demo(DemoArgs),
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum PeerTypeArg {
    Passive,
    Stealth,
    Public,
}

#[derive(Debug, Args)]
pub(crate) struct InitArgs {
    /// Role: passive (send and receive only), stealth (never answers strangers) or public (relays).
    #[arg(long, value_enum, default_value_t = PeerTypeArg::Passive)]
    pub(crate) peer_type: PeerTypeArg,
    /// Keep the vault key in the OS keychain instead of a passphrase (default when no passphrase is given).
    #[arg(long)]
    pub(crate) keychain: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum AccountCommand {
    /// Add or replace an account after logging in to its IMAP and SMTP servers (the password
    /// comes from an environment variable or stdin).
    Add(Box<AccountArgs>),
    /// List accounts (without passwords).
    List,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum SecurityArg {
    Tls,
    Starttls,
}

#[derive(Debug, Args)]
pub(crate) struct AccountArgs {
    /// Short name.
    #[arg(long, default_value = "main")]
    pub(crate) name: String,
    /// Mail address.
    #[arg(long)]
    pub(crate) address: String,
    /// Login name (default: the address).
    #[arg(long)]
    pub(crate) username: Option<String>,
    /// IMAP server host.
    #[arg(long)]
    pub(crate) imap_host: Option<String>,
    /// IMAP port.
    #[arg(long, default_value_t = 993)]
    pub(crate) imap_port: u16,
    /// IMAP TLS mode.
    #[arg(long, value_enum, default_value_t = SecurityArg::Tls)]
    pub(crate) imap_security: SecurityArg,
    /// SMTP server host.
    #[arg(long)]
    pub(crate) smtp_host: Option<String>,
    /// SMTP port.
    #[arg(long, default_value_t = 465)]
    pub(crate) smtp_port: u16,
    /// SMTP TLS mode.
    #[arg(long, value_enum, default_value_t = SecurityArg::Tls)]
    pub(crate) smtp_security: SecurityArg,
    /// Connect to this IP instead of resolving the host names (certificates are still checked against the names).
    #[arg(long)]
    pub(crate) connect_ip: Option<String>,
    /// Extra CA certificate to trust (PEM).
    #[arg(long)]
    pub(crate) ca_file: Option<PathBuf>,
    /// Most mails per 24 h this account may send (the provider's quota).
    #[arg(long, default_value_t = 500)]
    pub(crate) daily_budget: u32,
    /// Environment variable holding the account password.
    #[arg(long, default_value = "MAILVORTEX_ACCOUNT_PASSWORD")]
    pub(crate) password_env: String,
    /// Read the account password from standard input instead (after the passphrase line, if any).
    #[arg(long)]
    pub(crate) password_stdin: bool,
    /// Save without logging in to the servers first (offline set-up). By default the IMAP and
    /// SMTP logins are tried and nothing is saved if either fails.
    #[arg(long, alias = "offline")]
    pub(crate) no_check: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ImportArgs {
    /// Invite links (mailvortex:...) or descriptor files.
    #[arg(required = true)]
    pub(crate) items: Vec<String>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum RelaysCommand {
    /// Sign a relay list from descriptor files, with this node's identity as the directory key.
    Sign {
        /// Output file.
        #[arg(long)]
        out: PathBuf,
        /// Days the list stays valid.
        #[arg(long, default_value_t = 30)]
        days: u64,
        /// Descriptor files of the relays.
        descriptors: Vec<PathBuf>,
    },
    /// Import a relay list signed by a directory you trust.
    Import {
        /// The list file.
        file: PathBuf,
        /// The directory's node id (64 hex digits).
        #[arg(long)]
        signer: String,
    },
}

#[derive(Debug, Args)]
pub(crate) struct SendArgs {
    /// Recipient address (a MailVortex user whose invite you imported).
    #[arg(long)]
    pub(crate) to: String,
    /// Subject.
    #[arg(long, default_value = "")]
    pub(crate) subject: String,
    /// Text to send (default: standard input).
    #[arg(long, conflicts_with = "file")]
    pub(crate) text: Option<String>,
    /// File to send.
    #[arg(long)]
    pub(crate) file: Option<PathBuf>,
    /// Anonymity level: direct, fast, standard, strong or maximum (`mailvortex levels` tells
    /// what each hides and how long it takes).
    #[arg(long, default_value = "standard")]
    pub(crate) level: String,
    /// Mean mixing delay per hop in ms instead of the level's (benchmarks only: 0 = no mixing,
    /// which gives up the anonymity the level promises; hidden from --help).
    #[arg(long, hide = true)]
    pub(crate) mean_delay_ms: Option<u64>,
}

#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// Level of the demo message.
    #[arg(long, default_value = "standard")]
    pub(crate) level: String,
    /// Protocol time speed-up (15-minute mixing delays take about a second at 1000).
    #[arg(long, default_value_t = 1000.0)]
    pub(crate) speed: f64,
    /// Size of the demo message in bytes.
    #[arg(long, default_value_t = 100_000)]
    pub(crate) size: usize,
    /// Keep the demo nodes in this directory (default: a temporary one).
    #[arg(long)]
    pub(crate) keep: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct SettingsArgs {
    /// Cover packets (loops and drops) per day, within the accounts' send budgets.
    #[arg(long)]
    pub(crate) cover_per_day: Option<u32>,
    /// Puzzle difficulty (bits) asked of every packet; raised automatically under load.
    #[arg(long)]
    pub(crate) puzzle_difficulty: Option<u8>,
    /// Forward packets to addresses of nodes this node does not know (off by default).
    #[arg(long)]
    pub(crate) forward_to_unknown: Option<bool>,
    /// Mailbox poll period in seconds when the server has no IDLE.
    #[arg(long)]
    pub(crate) poll_seconds: Option<u64>,
    /// How long one mail may take between two nodes' mailboxes, in seconds (default 300). With
    /// the poll period it sets, per mail hop, how long a sent message waits for its receipt
    /// before it is sent again over other relays.
    #[arg(long)]
    pub(crate) mail_transit_seconds: Option<u64>,
}
