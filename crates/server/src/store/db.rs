//! The one connection type the rest of the store works through, over SQLite or PostgreSQL: a
//! transaction, with the few calls the store makes (`execute`, `query_row`, `prepare` +
//! `query_map`), values SQLite's way (integer, real, text, blob, null), and SQL written once with
//! `?1`-style placeholders (rewritten to `$1` for PostgreSQL).

use postgres::error::SqlState;
use postgres::types::{IsNull, ToSql, Type};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;

/// A value as both backends store it: booleans are integers, times are Unix seconds.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Integer(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

/// A database failure: the backend's own error, a row that is not there, or a value of the wrong
/// type.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("postgres: {0}")]
    Postgres(#[from] postgres::Error),
    #[error("the query returned no rows")]
    NoRows,
    #[error("column {column}: {message}")]
    Column { column: usize, message: String },
    #[error("the database is not reachable: {0}")]
    Unreachable(String),
    /// The data or the transaction broke a rule the store keeps (a row that must exist, a value
    /// it wrote that does not read back): the detail is logged, never shown.
    #[error("{0}")]
    Broken(String),
}

impl DbError {
    pub fn broken(what: impl Into<String>) -> DbError {
        DbError::Broken(what.into())
    }

    pub fn column(column: usize, message: impl Into<String>) -> DbError {
        DbError::Column { column, message: message.into() }
    }

    /// A conflict with a concurrent transaction (PostgreSQL's serializable isolation): the whole
    /// transaction may be run again.
    pub fn is_retryable(&self) -> bool {
        let DbError::Postgres(e) = self else { return false };
        matches!(e.code(), Some(c) if *c == SqlState::T_R_SERIALIZATION_FAILURE || *c == SqlState::T_R_DEADLOCK_DETECTED)
    }

    /// The database cannot serve the query now, through no fault of the query: the connection is
    /// gone (the server stopped, the network broke, an administrator or a timeout ended the
    /// session), the server is starting or shutting down, out of connections or resources, or the
    /// statement ran out of time waiting. Answered `503`, to be tried again.
    pub fn is_unreachable(&self) -> bool {
        match self {
            DbError::Unreachable(_) => true,
            DbError::Postgres(e) => {
                e.is_closed()
                    || std::error::Error::source(e).is_some_and(|s| s.is::<std::io::Error>())
                    || e.code().is_some_and(unavailable_state)
            }
            _ => false,
        }
    }
}

/// SQLSTATEs that say the database, not the query, failed: connection exceptions (08), operator
/// intervention (57: terminated, shutting down, starting, statement timeout, cancelled),
/// insufficient resources (53), a lock not had in time (55P03) and the idle-in-transaction
/// timeout (25P03).
fn unavailable_state(code: &SqlState) -> bool {
    let code = code.code();
    ["08", "53", "57"].iter().any(|class| code.starts_with(class)) || code == "55P03" || code == "25P03"
}

pub type DbResult<T> = Result<T, DbError>;

/// `None` for a query that returned no row (as rusqlite's `OptionalExtension`).
pub trait OptionalExtension<T> {
    fn optional(self) -> DbResult<Option<T>>;
}

impl<T> OptionalExtension<T> for DbResult<T> {
    fn optional(self) -> DbResult<Option<T>> {
        match self {
            Ok(value) => Ok(Some(value)),
            Err(DbError::NoRows) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// What a Rust value is stored as.
pub trait ToValue {
    fn to_value(&self) -> Value;
}

/// What a Rust value is read from.
pub trait FromValue: Sized {
    fn from_value(value: &Value) -> Result<Self, String>;
}

macro_rules! integer_values {
    ($($t:ty),*) => {$(
        impl ToValue for $t {
            fn to_value(&self) -> Value {
                i64::try_from(*self).map_or(Value::Null, Value::Integer)
            }
        }
        impl FromValue for $t {
            fn from_value(value: &Value) -> Result<Self, String> {
                match value {
                    Value::Integer(i) => <$t>::try_from(*i).map_err(|_| format!("{i} is out of range")),
                    other => Err(format!("expected an integer, found {other:?}")),
                }
            }
        }
    )*};
}
integer_values!(i64, i32, u32, u16, u8, u64, usize);

impl ToValue for bool {
    fn to_value(&self) -> Value {
        Value::Integer(i64::from(*self))
    }
}
impl FromValue for bool {
    fn from_value(value: &Value) -> Result<Self, String> {
        i64::from_value(value).map(|i| i != 0)
    }
}
impl ToValue for str {
    fn to_value(&self) -> Value {
        Value::Text(self.to_owned())
    }
}
impl ToValue for String {
    fn to_value(&self) -> Value {
        Value::Text(self.clone())
    }
}
impl FromValue for String {
    fn from_value(value: &Value) -> Result<Self, String> {
        match value {
            Value::Text(s) => Ok(s.clone()),
            other => Err(format!("expected text, found {other:?}")),
        }
    }
}
impl ToValue for [u8] {
    fn to_value(&self) -> Value {
        Value::Blob(self.to_vec())
    }
}
impl ToValue for Vec<u8> {
    fn to_value(&self) -> Value {
        Value::Blob(self.clone())
    }
}
impl FromValue for Vec<u8> {
    fn from_value(value: &Value) -> Result<Self, String> {
        match value {
            Value::Blob(b) => Ok(b.clone()),
            other => Err(format!("expected bytes, found {other:?}")),
        }
    }
}
impl FromValue for f64 {
    fn from_value(value: &Value) -> Result<Self, String> {
        match value {
            Value::Real(r) => Ok(*r),
            #[allow(clippy::cast_precision_loss)]
            Value::Integer(i) => Ok(*i as f64),
            other => Err(format!("expected a number, found {other:?}")),
        }
    }
}
impl<T: ToValue> ToValue for Option<T> {
    fn to_value(&self) -> Value {
        self.as_ref().map_or(Value::Null, ToValue::to_value)
    }
}
impl<T: FromValue> FromValue for Option<T> {
    fn from_value(value: &Value) -> Result<Self, String> {
        match value {
            Value::Null => Ok(None),
            other => T::from_value(other).map(Some),
        }
    }
}
impl<T: ToValue + ?Sized> ToValue for &T {
    fn to_value(&self) -> Value {
        (**self).to_value()
    }
}

/// A query's parameters: `params![a, b]`, an array of one type, or `()`.
pub trait Params {
    fn values(&self) -> Vec<Value>;
}

impl Params for () {
    fn values(&self) -> Vec<Value> {
        Vec::new()
    }
}
impl Params for &[&dyn ToValue] {
    fn values(&self) -> Vec<Value> {
        self.iter().map(|v| v.to_value()).collect()
    }
}
impl<T: ToValue, const N: usize> Params for [T; N] {
    fn values(&self) -> Vec<Value> {
        self.iter().map(ToValue::to_value).collect()
    }
}

macro_rules! tuple_params {
    ($($t:ident $i:tt),+) => {
        impl<$($t: ToValue),+> Params for ($($t,)+) {
            fn values(&self) -> Vec<Value> {
                vec![$(self.$i.to_value()),+]
            }
        }
    };
}
tuple_params!(A 0);
tuple_params!(A 0, B 1);
tuple_params!(A 0, B 1, C 2);
tuple_params!(A 0, B 1, C 2, D 3);
tuple_params!(A 0, B 1, C 2, D 3, E 4);
tuple_params!(A 0, B 1, C 2, D 3, E 4, F 5);
tuple_params!(A 0, B 1, C 2, D 3, E 4, F 5, G 6);
tuple_params!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7);
tuple_params!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8);
tuple_params!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9);
tuple_params!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10);
tuple_params!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11);
tuple_params!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11, M 12);
tuple_params!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11, M 12, N 13);

/// Parameters of several types, as rusqlite's `params!`.
#[macro_export]
macro_rules! params {
    ($($p:expr),* $(,)?) => { &[$(&$p as &dyn $crate::store::ToValue),*] as &[&dyn $crate::store::ToValue] };
}
pub use crate::params;

/// One row of a result.
pub struct Row {
    values: Vec<Value>,
}

/// A column's position (`r.get::<_, T>(0)`, as rusqlite).
pub trait ColumnIndex {
    fn index(self) -> usize;
}
impl ColumnIndex for usize {
    fn index(self) -> usize {
        self
    }
}

impl Row {
    pub fn get<I: ColumnIndex, T: FromValue>(&self, index: I) -> DbResult<T> {
        let index = index.index();
        let value = self.values.get(index).ok_or_else(|| DbError::column(index, "no such column"))?;
        T::from_value(value).map_err(|message| DbError::column(index, message))
    }
}

/// A statement to run (as rusqlite's `Statement`, without the caching).
pub struct Statement<'c, 'a> {
    conn: &'c Conn<'a>,
    sql: String,
}

impl Statement<'_, '_> {
    pub fn query_map<T, P: Params>(
        &mut self,
        params: P,
        mut f: impl FnMut(&Row) -> DbResult<T>,
    ) -> DbResult<std::vec::IntoIter<DbResult<T>>> {
        let rows = self.conn.rows(&self.sql, &params.values())?;
        Ok(rows.iter().map(&mut f).collect::<Vec<_>>().into_iter())
    }
}

/// A transaction on one backend's connection.
pub struct Conn<'a> {
    backend: Backend<'a>,
    /// Set when a statement failed because of a concurrent transaction: the caller runs the whole
    /// transaction again.
    pub(super) conflicted: Cell<bool>,
    /// Set when any statement failed: PostgreSQL has aborted the transaction, and a `COMMIT` would
    /// quietly roll it back, so it is never committed, even if the caller went on.
    pub(super) failed: Cell<bool>,
    /// Set when a statement failed because the database could not serve it (see
    /// [`DbError::is_unreachable`]): the transaction's answer is `503`, whatever the caller made
    /// of the error.
    pub(super) unavailable: Cell<bool>,
}

enum Backend<'a> {
    Sqlite(&'a rusqlite::Connection),
    Postgres {
        tx: RefCell<postgres::Transaction<'a>>,
        statements: RefCell<&'a mut HashMap<String, postgres::Statement>>,
    },
}

/// Which backend a connection is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Sqlite,
    Postgres,
}

impl<'a> Conn<'a> {
    pub(super) fn sqlite(conn: &'a rusqlite::Connection) -> Conn<'a> {
        Conn {
            backend: Backend::Sqlite(conn),
            conflicted: Cell::new(false),
            failed: Cell::new(false),
            unavailable: Cell::new(false),
        }
    }

    pub(super) fn postgres(
        tx: postgres::Transaction<'a>,
        statements: &'a mut HashMap<String, postgres::Statement>,
    ) -> Conn<'a> {
        let backend = Backend::Postgres { tx: RefCell::new(tx), statements: RefCell::new(statements) };
        Conn { backend, conflicted: Cell::new(false), failed: Cell::new(false), unavailable: Cell::new(false) }
    }

    /// The PostgreSQL transaction back, to commit or roll back.
    pub(super) fn into_postgres(self) -> Option<postgres::Transaction<'a>> {
        match self.backend {
            Backend::Postgres { tx, .. } => Some(tx.into_inner()),
            Backend::Sqlite(_) => None,
        }
    }

    pub fn kind(&self) -> Kind {
        match self.backend {
            Backend::Sqlite(_) => Kind::Sqlite,
            Backend::Postgres { .. } => Kind::Postgres,
        }
    }

    /// The database's clock, in milliseconds since 1970: every instance reads the same one, so
    /// the leases and deadlines instances compare do not depend on how well their clocks agree.
    pub fn now_ms(&self) -> DbResult<i64> {
        let sql = match self.kind() {
            Kind::Sqlite => "SELECT CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER)",
            Kind::Postgres => "SELECT CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)",
        };
        self.query_row(sql, (), |r| r.get(0))
    }

    /// Runs a statement; how many rows it changed.
    pub fn execute<P: Params>(&self, sql: &str, params: P) -> DbResult<usize> {
        let values = params.values();
        let result = match &self.backend {
            Backend::Sqlite(c) => c.execute(sql, rusqlite::params_from_iter(values.iter())).map_err(DbError::from),
            Backend::Postgres { tx, statements } => {
                let params = pg_params(&values);
                prepared(tx, statements, sql).and_then(|statement| {
                    let changed = tx.borrow_mut().execute(&statement, &pg_refs(&params))?;
                    Ok(usize::try_from(changed).unwrap_or(usize::MAX))
                })
            }
        };
        self.noted(result)
    }

    /// The first row of a query, through `f`; [`DbError::NoRows`] when there is none.
    pub fn query_row<T, P: Params>(&self, sql: &str, params: P, f: impl FnOnce(&Row) -> DbResult<T>) -> DbResult<T> {
        let rows = self.rows(sql, &params.values())?;
        rows.first().ok_or(DbError::NoRows).and_then(f)
    }

    pub fn prepare(&self, sql: &str) -> DbResult<Statement<'_, 'a>> {
        Ok(Statement { conn: self, sql: sql.to_owned() })
    }

    pub fn prepare_cached(&self, sql: &str) -> DbResult<Statement<'_, 'a>> {
        self.prepare(sql)
    }

    fn rows(&self, sql: &str, values: &[Value]) -> DbResult<Vec<Row>> {
        let result = match &self.backend {
            Backend::Sqlite(c) => sqlite_rows(c, sql, values),
            Backend::Postgres { tx, statements } => {
                let params = pg_params(values);
                prepared(tx, statements, sql).and_then(|statement| {
                    let rows = tx.borrow_mut().query(&statement, &pg_refs(&params))?;
                    rows.iter().map(pg_row).collect()
                })
            }
        };
        self.noted(result)
    }

    fn noted<T>(&self, result: DbResult<T>) -> DbResult<T> {
        if let Err(e) = &result {
            self.failed.set(true);
            self.conflicted.set(self.conflicted.get() || e.is_retryable());
            self.unavailable.set(self.unavailable.get() || e.is_unreachable());
        }
        result
    }
}

/// `sql` prepared on this connection: the first time it is used here, then from the cache.
fn prepared(
    tx: &RefCell<postgres::Transaction<'_>>,
    statements: &RefCell<&mut HashMap<String, postgres::Statement>>,
    sql: &str,
) -> DbResult<postgres::Statement> {
    if let Some(statement) = statements.borrow().get(sql) {
        return Ok(statement.clone());
    }
    let statement = tx.borrow_mut().prepare(&postgres_sql(sql))?;
    statements.borrow_mut().insert(sql.to_owned(), statement.clone());
    Ok(statement)
}

fn sqlite_rows(conn: &rusqlite::Connection, sql: &str, values: &[Value]) -> DbResult<Vec<Row>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let columns = stmt.column_count();
    let mut rows = stmt.query(rusqlite::params_from_iter(values.iter()))?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let values = (0..columns)
            .map(|i| {
                Ok(match row.get_ref(i)? {
                    rusqlite::types::ValueRef::Null => Value::Null,
                    rusqlite::types::ValueRef::Integer(i) => Value::Integer(i),
                    rusqlite::types::ValueRef::Real(r) => Value::Real(r),
                    rusqlite::types::ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
                    rusqlite::types::ValueRef::Blob(b) => Value::Blob(b.to_vec()),
                })
            })
            .collect::<DbResult<Vec<_>>>()?;
        out.push(Row { values });
    }
    Ok(out)
}

impl rusqlite::ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(ToSqlOutput::Borrowed(match self {
            Value::Null => ValueRef::Null,
            Value::Integer(i) => ValueRef::Integer(*i),
            Value::Real(r) => ValueRef::Real(*r),
            Value::Text(t) => ValueRef::Text(t.as_bytes()),
            Value::Blob(b) => ValueRef::Blob(b),
        }))
    }
}

/// `?1` placeholders as PostgreSQL's `$1` (outside string literals).
pub(super) fn postgres_sql(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut in_literal = false;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_literal = !in_literal;
                out.push(c);
            }
            // Only `?` and a number is a placeholder (`?1`); the store writes no other `?`.
            '?' if !in_literal && chars.peek().is_some_and(char::is_ascii_digit) => out.push('$'),
            _ => out.push(c),
        }
    }
    out
}

/// A value as a PostgreSQL parameter of whatever type the statement gives it.
#[derive(Debug)]
struct PgValue(Value);

fn pg_params(values: &[Value]) -> Vec<PgValue> {
    values.iter().cloned().map(PgValue).collect()
}

fn pg_refs(params: &[PgValue]) -> Vec<&(dyn ToSql + Sync)> {
    params.iter().map(|p| p as &(dyn ToSql + Sync)).collect()
}

impl ToSql for PgValue {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut postgres::types::private::BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match (&self.0, ty) {
            (Value::Null, _) => Ok(IsNull::Yes),
            (Value::Integer(i), &Type::BOOL) => (*i != 0).to_sql(ty, out),
            (Value::Integer(i), &Type::INT4) => i32::try_from(*i)?.to_sql(ty, out),
            (Value::Integer(i), &Type::INT2) => i16::try_from(*i)?.to_sql(ty, out),
            #[allow(clippy::cast_precision_loss)]
            (Value::Integer(i), &Type::FLOAT8) => (*i as f64).to_sql(ty, out),
            (Value::Integer(i), _) => i.to_sql(ty, out),
            (Value::Real(r), _) => r.to_sql(ty, out),
            (Value::Text(t), _) => t.as_str().to_sql(ty, out),
            (Value::Blob(b), _) => b.as_slice().to_sql(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    postgres::types::to_sql_checked!();
}

fn pg_row(row: &postgres::Row) -> DbResult<Row> {
    let values = row
        .columns()
        .iter()
        .enumerate()
        .map(|(i, column)| {
            let ty = column.type_();
            Ok(match *ty {
                Type::BOOL => row.try_get::<_, Option<bool>>(i)?.map_or(Value::Null, |b| Value::Integer(i64::from(b))),
                Type::INT2 => row.try_get::<_, Option<i16>>(i)?.map_or(Value::Null, |v| Value::Integer(v.into())),
                Type::INT4 => row.try_get::<_, Option<i32>>(i)?.map_or(Value::Null, |v| Value::Integer(v.into())),
                Type::INT8 => row.try_get::<_, Option<i64>>(i)?.map_or(Value::Null, Value::Integer),
                Type::FLOAT8 => row.try_get::<_, Option<f64>>(i)?.map_or(Value::Null, Value::Real),
                Type::BYTEA => row.try_get::<_, Option<Vec<u8>>>(i)?.map_or(Value::Null, Value::Blob),
                Type::TEXT | Type::VARCHAR | Type::NAME | Type::BPCHAR => {
                    row.try_get::<_, Option<String>>(i)?.map_or(Value::Null, Value::Text)
                }
                _ => return Err(DbError::column(i, format!("type {ty} is not one the store reads"))),
            })
        })
        .collect::<DbResult<Vec<_>>>()?;
    Ok(Row { values })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_become_postgres_ones_outside_literals() {
        assert_eq!(
            postgres_sql("SELECT a FROM t WHERE b = ?1 AND c = '?2' AND d = ?12"),
            "SELECT a FROM t WHERE b = $1 AND c = '?2' AND d = $12"
        );
        assert_eq!(postgres_sql("SELECT ?? FROM t WHERE a = ?1"), "SELECT ?? FROM t WHERE a = $1");
    }
}
