//! The tokens a JDS handed out and the jobs declared with them, shared by every Job
//! Declaration connection (which allocate and declare) and every Mining connection (whose
//! SetCustomMiningJob spends them). The caller shares one store between connections (behind
//! a mutex in a threaded pool) and passes it to each call.

use std::collections::HashMap;
use std::sync::Arc;

use super::server::DeclaredJob;
use super::Token;

/// What a token grants.
#[derive(Debug, Clone)]
pub enum Grant {
    /// AllocateMiningJobToken.Success: a DeclareMiningJob (Full-Template) or a
    /// SetCustomMiningJob (Coinbase-only) on the same tip.
    Allocated {
        /// The user the token was asked for.
        user: String,
        /// Whether the connection declares transactions: then only a DeclareMiningJob may
        /// spend the token.
        full_template: bool,
    },
    /// DeclareMiningJob.Success: one SetCustomMiningJob of this job.
    Declared(Arc<DeclaredJob>),
}

#[derive(Debug, Clone)]
struct Entry {
    connection: u64,
    expires: u64,
    grant: Grant,
}

/// Why a token cannot be spent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenError {
    /// Never handed out, already spent, or revoked.
    Unknown,
    /// Past its lifetime.
    Expired,
    /// Handed out to another connection.
    Foreign,
    /// A token for another step (a Full-Template allocation used in SetCustomMiningJob, or a
    /// declared job's token used to declare).
    WrongKind,
}

/// Why a token could not be stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreError {
    /// The store holds as many live tokens as it may.
    Full,
    /// The caller's random bytes repeat a live token.
    Collision,
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            StoreError::Full => "the token store is full",
            StoreError::Collision => "the random bytes repeat a live token",
        })
    }
}

impl std::error::Error for StoreError {}

/// Live tokens of every connection, bounded.
#[derive(Debug)]
pub struct TokenStore {
    tokens: HashMap<Token, Entry>,
    max_tokens: usize,
    next_connection: u64,
}

impl TokenStore {
    /// A store holding at most `max_tokens` live tokens across all connections.
    pub fn new(max_tokens: usize) -> Self {
        TokenStore { tokens: HashMap::new(), max_tokens, next_connection: 1 }
    }

    /// A fresh id for a new Job Declaration connection.
    pub fn connection_id(&mut self) -> u64 {
        let id = self.next_connection;
        self.next_connection += 1;
        id
    }

    /// Live tokens (expired ones included until the next purge).
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    /// Whether the store holds no token.
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// Stores `token` for `connection` until `expires`. Expired tokens are dropped first
    /// when the store is full.
    pub fn insert(
        &mut self,
        token: Token,
        connection: u64,
        expires: u64,
        grant: Grant,
        now: u64,
    ) -> Result<(), StoreError> {
        if self.tokens.contains_key(&token) {
            return Err(StoreError::Collision);
        }
        if self.tokens.len() >= self.max_tokens {
            self.tokens.retain(|_, e| e.expires > now);
            if self.tokens.len() >= self.max_tokens {
                return Err(StoreError::Full);
            }
        }
        self.tokens.insert(token, Entry { connection, expires, grant });
        Ok(())
    }

    /// Drops a token (revoked, or its connection is gone).
    pub fn remove(&mut self, token: &Token) {
        self.tokens.remove(token);
    }

    /// Spends an allocated token on a DeclareMiningJob of `connection`. A token of another
    /// connection stays where it is.
    pub fn spend_for_declaration(&mut self, token: &[u8], connection: u64, now: u64) -> Result<String, TokenError> {
        let key = Token::try_from(token).map_err(|_| TokenError::Unknown)?;
        let e = self.tokens.get(&key).ok_or(TokenError::Unknown)?;
        if e.connection != connection {
            return Err(TokenError::Foreign);
        }
        let expired = e.expires <= now;
        let grant = self.tokens.remove(&key).map(|e| e.grant);
        match grant {
            _ if expired => Err(TokenError::Expired),
            Some(Grant::Allocated { user, full_template: true }) => Ok(user),
            _ => Err(TokenError::WrongKind),
        }
    }

    /// What a SetCustomMiningJob's token grants, without spending it (see
    /// [`Self::spend`]).
    pub fn peek_for_custom_job(&self, token: &[u8], now: u64) -> Result<&Grant, TokenError> {
        let key = Token::try_from(token).map_err(|_| TokenError::Unknown)?;
        let e = self.tokens.get(&key).ok_or(TokenError::Unknown)?;
        if e.expires <= now {
            return Err(TokenError::Expired);
        }
        match &e.grant {
            Grant::Allocated { full_template: true, .. } => Err(TokenError::WrongKind),
            g => Ok(g),
        }
    }

    /// Spends a token: it cannot be used again.
    pub fn spend(&mut self, token: &[u8]) {
        if let Ok(key) = Token::try_from(token) {
            self.tokens.remove(&key);
        }
    }
}
