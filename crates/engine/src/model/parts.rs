//! The model's facts apart, in the sections a snapshot saves and reads one by one
//! ([`crate::snapshot`]): each section is encoded on its own, so sections decode on several
//! threads at once, and a reader that needs only some of them (a report of the ledger) decodes
//! only those. Assembly is [`Model::from_parts`]; everything else about sections (framing,
//! checksums, which a reader needs) is the snapshot's.

use serde::de::DeserializeOwned;

use super::*;
use crate::snapshot::Reads;

/// How many sections the identity components are dealt into (by root), so that the largest
/// part of a model decodes on several threads.
pub(crate) const COMPONENT_CHUNKS: u8 = 8;

/// One section of a model's facts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Section {
    /// Every account id seen and the latest instant stated: always read.
    Core,
    Ledger,
    Profiles,
    /// The identity graph, e-mails, account links, the numbers of accounts pages name and
    /// event names.
    Graph,
    /// What page views say about how visitors came (the second largest section, so apart).
    PageFacts,
    /// The identity components whose root is this one modulo [`COMPONENT_CHUNKS`].
    Components(u8),
    /// Offline touchpoint rows.
    Offline,
    Usage,
    Success,
}

impl Section {
    /// Every section of a model, in the order a snapshot lays them out.
    pub(crate) fn all() -> Vec<Section> {
        let mut out = vec![
            Section::Core,
            Section::Ledger,
            Section::Profiles,
            Section::Graph,
            Section::PageFacts,
        ];
        out.extend((0..COMPONENT_CHUNKS).map(Section::Components));
        out.extend([Section::Offline, Section::Usage, Section::Success]);
        out
    }

    /// Whether a reader of `reads` needs this section. Journeys are read from the identities
    /// (pages, tracks, who is linked to which account) and the offline rows; an account's usage
    /// and success facts join its own with those its identities hold.
    pub(crate) fn needed_by(self, reads: Reads) -> bool {
        let identities = Reads::JOURNEYS.with(Reads::USAGE).with(Reads::SUCCESS);
        match self {
            Section::Core => true,
            Section::Ledger => reads.contains(Reads::LEDGER),
            Section::Profiles => reads.contains(Reads::PROFILES),
            Section::Graph | Section::PageFacts | Section::Components(_) => {
                reads.overlaps(identities)
            }
            Section::Offline => reads.contains(Reads::JOURNEYS),
            Section::Usage => reads.contains(Reads::USAGE),
            Section::Success => reads.contains(Reads::SUCCESS),
        }
    }
}

fn chunk_of(root: usize) -> u8 {
    (root % usize::from(COMPONENT_CHUNKS)) as u8
}

type Graph = (
    IdentityGraph,
    HashMap<Email, Sorted<usize, ()>>,
    BTreeMap<AccountId, Sorted<usize, ()>>,
    Numbered<AccountId>,
    Numbered<String>,
);

/// A section decoded, its indexes rebuilt: what [`Model::from_parts`] assembles.
#[derive(Debug)]
pub(crate) enum Part {
    Core(BTreeSet<AccountId>, Option<Timestamp>),
    Ledger(Ledger),
    Profiles(Profiles),
    Graph(Box<Graph>),
    PageFacts(PageFactsTable),
    Components(Vec<(usize, Component)>),
    Offline(BTreeMap<EventKey, TouchpointRow>),
    Usage(UsageStore),
    Success(SuccessStore),
}

/// The bytes of `section` of `model` (postcard).
pub(crate) fn encode(model: &Model, section: Section) -> Vec<u8> {
    let bytes = match section {
        Section::Core => postcard::to_stdvec(&(&model.accounts, &model.data_end)),
        Section::Ledger => postcard::to_stdvec(&model.ledger),
        Section::Profiles => postcard::to_stdvec(&model.profiles),
        Section::Graph => postcard::to_stdvec(&(
            &model.ids,
            &model.emails,
            &model.account_links,
            &model.account_numbers,
            &model.event_names,
        )),
        Section::PageFacts => postcard::to_stdvec(&model.page_facts),
        Section::Components(chunk) => {
            let mine: Vec<(&usize, &Component)> = model
                .components
                .iter()
                .filter(|(root, _)| chunk_of(**root) == chunk)
                .collect();
            postcard::to_stdvec(&mine)
        }
        Section::Offline => postcard::to_stdvec(&model.offline),
        Section::Usage => postcard::to_stdvec(&model.usage),
        Section::Success => postcard::to_stdvec(&model.success),
    };
    bytes.expect("a model serializes")
}

/// `bytes` as exactly one `T`.
fn whole<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    let (value, rest) = postcard::take_from_bytes(bytes).map_err(|e| e.to_string())?;
    if rest.is_empty() {
        Ok(value)
    } else {
        Err(format!("{} bytes after the section's contents", rest.len()))
    }
}

/// Section `section` from its bytes, with the lookup tables it leaves out rebuilt under
/// `settings` (which the snapshot has checked are those it was taken with).
pub(crate) fn decode(
    section: Section,
    bytes: &[u8],
    settings: &EngineSettings,
) -> Result<Part, String> {
    Ok(match section {
        Section::Core => {
            let (accounts, data_end) = whole(bytes)?;
            Part::Core(accounts, data_end)
        }
        Section::Ledger => Part::Ledger(whole(bytes)?),
        Section::Profiles => Part::Profiles(whole(bytes)?),
        Section::Graph => {
            let mut graph: Box<Graph> = Box::new(whole(bytes)?);
            graph.0.reindex();
            graph.3.reindex();
            graph.4.reindex();
            Part::Graph(graph)
        }
        Section::PageFacts => {
            let mut facts: PageFactsTable = whole(bytes)?;
            facts.reindex(&settings.channels);
            Part::PageFacts(facts)
        }
        Section::Components(chunk) => {
            let components: Vec<(usize, Component)> = whole(bytes)?;
            if let Some((root, _)) = components.iter().find(|(r, _)| chunk_of(*r) != chunk) {
                return Err(format!("component {root} in the section of chunk {chunk}"));
            }
            Part::Components(components)
        }
        Section::Offline => Part::Offline(whole(bytes)?),
        Section::Usage => {
            let mut usage: UsageStore = whole(bytes)?;
            usage.reindex();
            Part::Usage(usage)
        }
        Section::Success => Part::Success(whole(bytes)?),
    })
}

impl Model {
    /// A model of the decoded `parts` under `settings`; a section not given is empty (a
    /// reader that needs only some sections gets a model whose other facts are absent, which
    /// must not be saved or updated as if whole: see [`crate::snapshot::Restored::reads`]).
    pub(crate) fn from_parts(settings: EngineSettings, parts: Vec<Part>) -> Model {
        let mut model = Model::new(settings);
        let components: usize = parts
            .iter()
            .map(|p| match p {
                Part::Components(c) => c.len(),
                _ => 0,
            })
            .sum();
        model.components.reserve(components);
        for part in parts {
            match part {
                Part::Core(accounts, data_end) => {
                    model.accounts = accounts;
                    model.data_end = data_end;
                }
                Part::Ledger(ledger) => model.ledger = ledger,
                Part::Profiles(profiles) => model.profiles = profiles,
                Part::Graph(graph) => {
                    let (ids, emails, account_links, account_numbers, event_names) = *graph;
                    model.ids = ids;
                    model.emails = emails;
                    model.account_links = account_links;
                    model.account_numbers = account_numbers;
                    model.event_names = event_names;
                }
                Part::PageFacts(page_facts) => model.page_facts = page_facts,
                Part::Components(components) => model.components.extend(components),
                Part::Offline(offline) => model.offline = offline,
                Part::Usage(usage) => model.usage = usage,
                Part::Success(success) => model.success = success,
            }
        }
        model
    }
}
