//! The effect store: PostgreSQL, in a schema of the replay's own.
//!
//! `effects` counts how many times each operation's effect committed;
//! `ledger` holds a unique key per operation id (idempotency), or the
//! broker offset of each message applied (the atomic boundary: the stored
//! offset), written in the effect's own transaction when the design has
//! one (W2, W3: a unique insert, not a check-then-act).

use crate::broker::{Result, fail};
use postgres::{Client, NoTls};

pub struct Store {
    client: Client,
    schema: String,
    version: String,
}

/// How the effect is applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    /// The effect alone.
    Plain,
    /// The operation id inserted into the ledger in the effect's
    /// transaction; a key already there rolls the effect back.
    Ledger,
    /// The message's broker offset stored in the effect's transaction (the
    /// atomic boundary); an offset already there rolls the effect back.
    Offset,
}

fn wrap<T>(what: &str, r: std::result::Result<T, postgres::Error>) -> Result<T> {
    r.or_else(|e| fail(format!("PostgreSQL {what}: {e}")))
}

impl Store {
    pub fn connect(params: &str, operations: u8) -> Result<Store> {
        let mut client = Client::connect(params, NoTls).or_else(|e| {
            fail(format!(
                "cannot connect to PostgreSQL ({params}): {e}; run scripts/brokers up"
            ))
        })?;
        let version: String = wrap("version", client.query_one("show server_version", &[]))?.get(0);
        let schema = format!(
            "replay_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        );
        wrap(
            "create schema",
            client.batch_execute(&format!(
                "drop schema if exists {schema} cascade; create schema {schema};
                 set search_path to {schema};
                 create table effects (op int primary key, applied int not null);
                 create table ledger (key text primary key);"
            )),
        )?;
        for op in 0..operations as i32 {
            wrap(
                "insert",
                client.execute("insert into effects values ($1, 0)", &[&op]),
            )?;
        }
        Ok(Store {
            client,
            schema,
            version,
        })
    }

    pub fn describe(&self) -> String {
        format!("PostgreSQL {}", self.version)
    }

    /// Applies `op`'s effect, for the message at broker `offset`, as the
    /// design does; true if it committed.
    pub fn apply(&mut self, op: u8, offset: &str, effect: Effect) -> Result<bool> {
        let op = op as i32;
        let mut tx = wrap("begin", self.client.transaction())?;
        let key = match effect {
            Effect::Plain => None,
            Effect::Ledger => Some(format!("op-{op}")),
            Effect::Offset => Some(format!("offset-{offset}")),
        };
        if let Some(key) = key {
            let fresh = wrap(
                "ledger insert",
                tx.execute(
                    "insert into ledger values ($1) on conflict do nothing",
                    &[&key],
                ),
            )?;
            if fresh == 0 {
                wrap("rollback", tx.rollback())?;
                return Ok(false);
            }
        }
        wrap(
            "effect",
            tx.execute(
                "update effects set applied = applied + 1 where op = $1",
                &[&op],
            ),
        )?;
        wrap("commit", tx.commit())?;
        Ok(true)
    }

    /// How many times each operation's effect committed.
    pub fn applied(&mut self) -> Result<Vec<u8>> {
        let rows = wrap(
            "select",
            self.client
                .query("select applied from effects order by op", &[]),
        )?;
        Ok(rows.iter().map(|r| r.get::<_, i32>(0) as u8).collect())
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        let _ = self
            .client
            .batch_execute(&format!("drop schema if exists {} cascade", self.schema));
    }
}

static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
