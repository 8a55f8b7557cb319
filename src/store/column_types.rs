//! The catalogue's closed sets as column types. Their columns stay TEXT (no table rewrite);
//! a value read back is parsed into its type at the boundary, so a row type holds a `Family`
//! and never a string that might not be one.
//!
//! Ids and event types stay text in row types on purpose: rows an older hookgate stored may
//! break today's limits (the edge bounds them since), and such a row must fail alone when its
//! message is built, not fail the decoding of the whole batch it was read with.

use crate::catalogue::Family;
use sqlx::{
    encode::IsNull,
    error::BoxDynError,
    postgres::{PgArgumentBuffer, PgHasArrayType, PgTypeInfo, PgValueRef},
    Decode, Encode, Postgres, Type,
};

impl Type<Postgres> for Family {
    fn type_info() -> PgTypeInfo {
        <&str as Type<Postgres>>::type_info()
    }

    fn compatible(ty: &PgTypeInfo) -> bool {
        <&str as Type<Postgres>>::compatible(ty)
    }
}

impl PgHasArrayType for Family {
    fn array_type_info() -> PgTypeInfo {
        <&str as PgHasArrayType>::array_type_info()
    }
}

impl Encode<'_, Postgres> for Family {
    fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
        <&str as Encode<Postgres>>::encode(self.as_str(), buf)
    }
}

impl<'r> Decode<'r, Postgres> for Family {
    fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
        let name = <&str as Decode<Postgres>>::decode(value)?;
        Family::parse(name).ok_or_else(|| format!("{name:?} is not a family").into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_family_is_a_text_column_value() {
        assert!(<Family as Type<Postgres>>::compatible(&<String as Type<
            Postgres,
        >>::type_info(
        )));
        for family in Family::all() {
            assert_eq!(Family::parse(family.as_str()), Some(family));
        }
    }
}
