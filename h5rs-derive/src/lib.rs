//! `#[derive(H5Type)]` for h5rs.
//!
//! - A struct with named fields becomes an HDF5 compound type: one member
//!   per field, in field order, packed (each member right after the
//!   previous one, as numpy lays out a structured dtype without
//!   alignment), named after the field or `#[h5(name = "...")]`. Reading
//!   matches members by name, in any order the file stores them; each
//!   field reads through its own `H5Type`. Fields may themselves be
//!   derived structs (compound in compound).
//! - A field-less enum with `#[repr(u8)]` (or any other integer) becomes
//!   an enumeration type over that integer, members named after the
//!   variants (or `#[h5(name = "...")]`) with their discriminants, sorted
//!   by name as in the enumerations h5py writes.
//!   Reading matches enumeration members by name and plain integers by
//!   value; a value with no variant is an error.
//!
//! ```ignore
//! #[derive(h5rs::H5Type)]
//! struct Point { x: f64, y: f64, #[h5(name = "label")] name: String }
//!
//! #[derive(h5rs::H5Type)]
//! #[repr(u8)]
//! enum Color { Red, Green = 5, Blue }
//! ```

use proc_macro::TokenStream;
use proc_macro2::TokenStream as Tokens;
use quote::quote;
use syn::{Data, DeriveInput, Fields, Ident, LitStr, parse_macro_input};

/// Implements `h5rs::H5Type` for a struct with named fields (a compound
/// type) or a field-less enum with an integer `repr` (an enumeration
/// type). Field and variant names can be changed with
/// `#[h5(name = "...")]`.
#[proc_macro_derive(H5Type, attributes(h5))]
pub fn derive_h5type(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    let out = match &input.data {
        Data::Struct(s) => match &s.fields {
            Fields::Named(f) => derive_struct(&input, f.named.iter().collect()),
            _ => Err(syn::Error::new_spanned(
                &input.ident,
                "#[derive(H5Type)] needs a struct with named fields (or a field-less enum)",
            )),
        },
        Data::Enum(e) => derive_enum(&input, e),
        Data::Union(_) => Err(syn::Error::new_spanned(
            &input.ident,
            "#[derive(H5Type)] does not support unions",
        )),
    };
    out.unwrap_or_else(|e| e.to_compile_error()).into()
}

/// The `#[h5(name = "...")]` of an item, if any.
fn h5_name(attrs: &[syn::Attribute]) -> syn::Result<Option<String>> {
    let mut name = None;
    for a in attrs.iter().filter(|a| a.path().is_ident("h5")) {
        a.parse_nested_meta(|meta| {
            if meta.path.is_ident("name") {
                let s: LitStr = meta.value()?.parse()?;
                if s.value().is_empty() {
                    return Err(meta.error("an HDF5 member name cannot be empty"));
                }
                name = Some(s.value());
                Ok(())
            } else {
                Err(meta.error("unknown h5 attribute (expected `name = \"...\"`)"))
            }
        })?;
    }
    Ok(name)
}

fn derive_struct(input: &DeriveInput, fields: Vec<&syn::Field>) -> syn::Result<Tokens> {
    let ty = &input.ident;
    if fields.is_empty() {
        return Err(syn::Error::new_spanned(
            ty,
            "#[derive(H5Type)]: a compound type needs at least one field",
        ));
    }
    let mut generics = input.generics.clone();
    for p in generics.type_params_mut() {
        p.bounds.push(syn::parse_quote!(::h5rs::H5Type));
    }
    let (impl_g, ty_g, where_c) = generics.split_for_impl();
    let ty_name = ty.to_string();

    let idents: Vec<&Ident> = fields.iter().filter_map(|f| f.ident.as_ref()).collect();
    let types: Vec<&syn::Type> = fields.iter().map(|f| &f.ty).collect();
    let mut names = Vec::new();
    for f in &fields {
        let default = f
            .ident
            .as_ref()
            .map(|i| i.to_string().trim_start_matches("r#").to_string())
            .unwrap_or_default();
        names.push(h5_name(&f.attrs)?.unwrap_or(default));
    }
    for (i, n) in names.iter().enumerate() {
        if names[..i].contains(n) {
            return Err(syn::Error::new_spanned(
                fields[i],
                format!("two fields are named {n:?} in the compound type"),
            ));
        }
    }
    let m: Vec<Ident> = (0..fields.len())
        .map(|i| quote::format_ident!("__m{}", i))
        .collect();
    let col: Vec<Ident> = (0..fields.len())
        .map(|i| quote::format_ident!("__c{}", i))
        .collect();

    Ok(quote! {
        impl #impl_g ::h5rs::H5Type for #ty #ty_g #where_c {
            fn decode_all(
                file: &::h5rs::File,
                dt: &::h5rs::Datatype,
                raw: &[u8],
            ) -> ::h5rs::Result<::std::vec::Vec<Self>> {
                use ::h5rs::hl::types::derive_support as __h5;
                let [#(#m),*] = __h5::members(dt, [#(#names),*], #ty_name)?;
                let __n = __h5::count(dt, raw);
                #(let mut #col = __h5::column::<#types>(file, dt, raw, #m)?;)*
                let mut __out = ::std::vec::Vec::with_capacity(__n);
                for _ in 0..__n {
                    __out.push(Self { #(#idents: __h5::next(&mut #col)?),* });
                }
                ::std::result::Result::Ok(__out)
            }

            fn file_type_of(values: &[&Self]) -> ::h5rs::Result<::h5rs::Datatype> {
                use ::h5rs::hl::types::derive_support as __h5;
                __h5::compound(::std::vec![
                    #((
                        #names,
                        <#types as ::h5rs::H5Type>::file_type_of(
                            &values.iter().map(|v| &v.#idents).collect::<::std::vec::Vec<_>>(),
                        )?,
                    )),*
                ])
            }

            fn encode(
                &self,
                dt: &::h5rs::Datatype,
                heap: &mut dyn ::h5rs::VlenSink,
                out: &mut ::std::vec::Vec<u8>,
            ) -> ::h5rs::Result<()> {
                <Self as ::h5rs::H5Type>::encode_all(::std::slice::from_ref(self), dt, heap, out)
            }

            fn encode_all(
                values: &[Self],
                dt: &::h5rs::Datatype,
                heap: &mut dyn ::h5rs::VlenSink,
                out: &mut ::std::vec::Vec<u8>,
            ) -> ::h5rs::Result<()> {
                use ::h5rs::hl::types::derive_support as __h5;
                let [#(#m),*] = __h5::members(dt, [#(#names),*], #ty_name)?;
                let mut __scratch = ::std::vec::Vec::new();
                for v in values {
                    let __start = __h5::begin_element(dt, out);
                    #(__h5::encode_member(&v.#idents, #m, heap, out, __start, &mut __scratch)?;)*
                }
                ::std::result::Result::Ok(())
            }
        }
    })
}

const INT_REPRS: [&str; 8] = ["u8", "i8", "u16", "i16", "u32", "i32", "u64", "i64"];

fn derive_enum(input: &DeriveInput, e: &syn::DataEnum) -> syn::Result<Tokens> {
    let ty = &input.ident;
    if !input.generics.params.is_empty() {
        return Err(syn::Error::new_spanned(
            &input.generics,
            "#[derive(H5Type)] does not support generic enums",
        ));
    }
    let mut repr: Option<Ident> = None;
    for a in input.attrs.iter().filter(|a| a.path().is_ident("repr")) {
        a.parse_nested_meta(|meta| {
            if let Some(i) = meta.path.get_ident()
                && INT_REPRS.contains(&i.to_string().as_str())
            {
                repr = Some(i.clone());
            }
            Ok(())
        })?;
    }
    let Some(repr) = repr else {
        return Err(syn::Error::new_spanned(
            ty,
            "#[derive(H5Type)] on an enum needs #[repr(u8)], #[repr(i32)], ... (the enumeration's base type)",
        ));
    };
    if e.variants.is_empty() {
        return Err(syn::Error::new_spanned(
            ty,
            "#[derive(H5Type)]: an enumeration type needs at least one variant",
        ));
    }
    let mut idents = Vec::new();
    let mut names = Vec::new();
    for v in &e.variants {
        if !matches!(v.fields, Fields::Unit) {
            return Err(syn::Error::new_spanned(
                v,
                "#[derive(H5Type)]: enum variants cannot have fields",
            ));
        }
        let name = h5_name(&v.attrs)?.unwrap_or_else(|| v.ident.to_string());
        if names.contains(&name) {
            return Err(syn::Error::new_spanned(
                v,
                format!("two variants are named {name:?} in the enumeration type"),
            ));
        }
        idents.push(&v.ident);
        names.push(name);
    }
    let index: Vec<usize> = (0..idents.len()).collect();
    let ty_name = ty.to_string();
    Ok(quote! {
        impl ::h5rs::H5Type for #ty {
            fn decode_all(
                _file: &::h5rs::File,
                dt: &::h5rs::Datatype,
                raw: &[u8],
            ) -> ::h5rs::Result<::std::vec::Vec<Self>> {
                use ::h5rs::hl::types::derive_support as __h5;
                const __V: &[(&str, i128)] = &[#((#names, #ty::#idents as i128)),*];
                __h5::enum_decode(dt, raw, __V, #ty_name)?
                    .into_iter()
                    .map(|i| match i {
                        #(#index => ::std::result::Result::Ok(#ty::#idents),)*
                        _ => ::std::result::Result::Err(__h5::Error::usage("variant index out of range")),
                    })
                    .collect()
            }

            fn file_type_of(_values: &[&Self]) -> ::h5rs::Result<::h5rs::Datatype> {
                use ::h5rs::hl::types::derive_support as __h5;
                const __V: &[(&str, i128)] = &[#((#names, #ty::#idents as i128)),*];
                __h5::enum_type(<#repr as ::h5rs::H5Type>::file_type(&[])?, __V)
            }

            fn encode(
                &self,
                dt: &::h5rs::Datatype,
                _heap: &mut dyn ::h5rs::VlenSink,
                out: &mut ::std::vec::Vec<u8>,
            ) -> ::h5rs::Result<()> {
                use ::h5rs::hl::types::derive_support as __h5;
                const __V: &[(&str, i128)] = &[#((#names, #ty::#idents as i128)),*];
                let i: usize = match self {
                    #(#ty::#idents => #index,)*
                };
                __h5::enum_encode(dt, i, __V, out)
            }
        }
    })
}
