//! `#[configurable]`: an operator's params struct is the one place its
//! params are documented and defaulted.
//!
//! On a struct with named fields it:
//! - turns each field's `#[default(EXPR)]` into a serde default (so no
//!   hand-written `default_*` functions);
//! - implements `maflow_engine::params::Configurable`: the struct's doc
//!   comment is the kind's documentation, and each field's doc comment,
//!   default and optional `#[example("YAML")]` make the example params that
//!   `maflow ops` shows and a registry test builds.
//!
//! A field without a default is required, and needs `#[example("YAML")]`.
//! A field with a default and an example shows the example as a commented
//! alternative. `#[fields(Type)]` on a field whose value is a params
//! struct of its own (an LLM endpoint) lists that struct's fields under it.
//! `#[configurable(default)]` also implements `Default` from the fields'
//! defaults (every field then needs one).

use proc_macro::TokenStream;
use proc_macro2::TokenStream as Tokens;
use quote::{format_ident, quote};
use syn::{Attribute, Data, DeriveInput, Fields, LitStr, parse_macro_input};

/// See the crate documentation.
#[proc_macro_attribute]
pub fn configurable(attr: TokenStream, item: TokenStream) -> TokenStream {
    let attr = Tokens::from(attr);
    let with_default = match attr.to_string().as_str() {
        "" => false,
        "default" => true,
        _ => {
            return syn::Error::new_spanned(
                attr,
                "`#[configurable]` takes no argument but `default`",
            )
            .to_compile_error()
            .into();
        }
    };
    let mut input = parse_macro_input!(item as DeriveInput);
    match expand(&mut input, with_default) {
        Ok(tokens) => tokens.into(),
        Err(e) => e.to_compile_error().into(),
    }
}

fn expand(input: &mut DeriveInput, with_default: bool) -> syn::Result<Tokens> {
    let name = input.ident.clone();
    let doc = doc_text(&input.attrs);
    if doc.is_empty() {
        return Err(syn::Error::new_spanned(
            &input.ident,
            "an operator's params need a doc comment: it is the kind's documentation",
        ));
    }
    let Data::Struct(data) = &mut input.data else {
        return Err(syn::Error::new_spanned(
            &input.ident,
            "`#[configurable]` works on structs",
        ));
    };
    let Fields::Named(fields) = &mut data.fields else {
        return Err(syn::Error::new_spanned(
            &input.ident,
            "`#[configurable]` needs named fields (or `{}`)",
        ));
    };
    let mut parts = Vec::new();
    for field in fields.named.iter_mut() {
        parts.push(param(field, &name, with_default)?);
    }
    let default_fns = parts.iter().filter_map(|p| p.default_fn.as_ref());
    let params = parts.iter().map(|p| &p.doc);
    let field_defaults = parts.iter().filter_map(|p| p.init.as_ref());
    let doc = LitStr::new(&doc, name.span());
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    let default_impl = with_default.then(|| {
        quote! {
            impl #impl_generics ::core::default::Default for #name #ty_generics #where_clause {
                fn default() -> Self {
                    Self { #(#field_defaults),* }
                }
            }
        }
    });
    Ok(quote! {
        #input
        #default_impl
        #(#default_fns)*
        impl #impl_generics ::maflow_engine::params::Configurable for #name #ty_generics #where_clause {
            const DOC: &'static str = #doc;
            fn params() -> ::std::vec::Vec<::maflow_engine::params::ParamDoc> {
                ::std::vec![#(#params),*]
            }
        }
    })
}

/// What one field contributes: its `ParamDoc`, its default's function (for
/// `#[default(..)]`) and its initialiser in a generated `Default`.
struct Param {
    doc: Tokens,
    default_fn: Option<Tokens>,
    init: Option<Tokens>,
}

/// Reads one field's doc, default and example, turning `#[default(EXPR)]` into a serde default.
fn param(field: &mut syn::Field, name: &syn::Ident, with_default: bool) -> syn::Result<Param> {
    let ident = field.ident.clone().expect("named fields");
    let field_doc = doc_text(&field.attrs);
    if field_doc.is_empty() {
        return Err(syn::Error::new_spanned(
            &ident,
            "every param needs a doc comment: it is the user reference",
        ));
    }
    let default = take_attr(&mut field.attrs, "default")?;
    let example = match take_attr(&mut field.attrs, "example")? {
        Some(tokens) => Some(syn::parse2::<LitStr>(tokens)?),
        None => None,
    };
    // `#[fields(Type)]`: a nested params struct whose fields are documented under this one.
    let fields = match take_attr(&mut field.attrs, "fields")? {
        Some(tokens) => {
            let nested = syn::parse2::<syn::Type>(tokens)?;
            quote! { ::core::option::Option::Some(<#nested as ::maflow_engine::params::Configurable>::params) }
        }
        None => quote! { ::core::option::Option::None },
    };
    let (value, default_fn) = default_value(field, name, default, example.is_some(), with_default)?;
    let init = value.as_ref().map(|v| quote! { #ident: #v });
    let default_value = match &value {
        Some(v) => {
            quote! { ::core::option::Option::Some(::maflow_engine::params::to_param_value(&#v)) }
        }
        None => quote! { ::core::option::Option::None },
    };
    let key = LitStr::new(&ident.to_string(), ident.span());
    let field_doc = LitStr::new(&field_doc, ident.span());
    let example = match example {
        Some(lit) => quote! { ::core::option::Option::Some(#lit) },
        None => quote! { ::core::option::Option::None },
    };
    let doc = quote! {
        ::maflow_engine::params::ParamDoc { name: #key, doc: #field_doc, default: #default_value, example: #example, fields: #fields }
    };
    Ok(Param {
        doc,
        default_fn,
        init,
    })
}

/// A field's default as an expression (from `#[default(EXPR)]`, which
/// becomes a serde default function, returned too, or from
/// `#[serde(default ...)]`), or `None` for a required param.
fn default_value(
    field: &mut syn::Field,
    name: &syn::Ident,
    default: Option<Tokens>,
    has_example: bool,
    with_default: bool,
) -> syn::Result<(Option<Tokens>, Option<Tokens>)> {
    let ident = field.ident.clone().expect("named fields");
    let ty = field.ty.clone();
    let mut default_fn = None;
    // The default's value as an expression, if the field has one.
    let value = match (default, serde_default(&field.attrs)?) {
        (Some(_), Some(_)) => {
            return Err(syn::Error::new_spanned(
                &ident,
                "give either `#[default(..)]` or `#[serde(default)]`, not both",
            ));
        }
        (Some(expr), None) => {
            let fn_name = format_ident!("__{}_default_{}", name, ident);
            let path = LitStr::new(&fn_name.to_string(), ident.span());
            default_fn = Some(quote! {
                #[doc(hidden)]
                #[allow(non_snake_case)]
                fn #fn_name() -> #ty { #expr }
            });
            field
                .attrs
                .push(syn::parse_quote!(#[serde(default = #path)]));
            Some(quote! { #fn_name() })
        }
        (None, Some(Some(path))) => Some(quote! { #path() }),
        (None, Some(None)) => Some(quote! { <#ty as ::core::default::Default>::default() }),
        (None, None) if with_default => {
            return Err(syn::Error::new_spanned(
                &ident,
                "`#[configurable(default)]` needs a default for every param",
            ));
        }
        (None, None) if !has_example => {
            return Err(syn::Error::new_spanned(
                &ident,
                "a required param needs `#[example(\"YAML\")]`",
            ));
        }
        (None, None) => None,
    };
    Ok((value, default_fn))
}

/// The doc comment's text, lines joined with `\n`, each without the one space after `///`.
fn doc_text(attrs: &[Attribute]) -> String {
    let mut lines = Vec::new();
    for attr in attrs {
        if !attr.path().is_ident("doc") {
            continue;
        }
        if let syn::Meta::NameValue(nv) = &attr.meta
            && let syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(s),
                ..
            }) = &nv.value
        {
            let line = s.value();
            lines.push(
                line.strip_prefix(' ')
                    .unwrap_or(&line)
                    .trim_end()
                    .to_string(),
            );
        }
    }
    lines.join("\n").trim().to_string()
}

/// Removes `#[name(..)]` from the attributes and returns what was inside.
fn take_attr(attrs: &mut Vec<Attribute>, name: &str) -> syn::Result<Option<Tokens>> {
    let Some(pos) = attrs.iter().position(|a| a.path().is_ident(name)) else {
        return Ok(None);
    };
    let attr = attrs.remove(pos);
    if attrs.iter().any(|a| a.path().is_ident(name)) {
        return Err(syn::Error::new_spanned(
            attr,
            format!("`#[{name}]` given twice"),
        ));
    }
    Ok(Some(attr.meta.require_list()?.tokens.clone()))
}

/// A `#[serde(default)]` (`Some(None)`) or `#[serde(default = "path")]` (`Some(Some(path))`) on the field.
fn serde_default(attrs: &[Attribute]) -> syn::Result<Option<Option<syn::ExprPath>>> {
    let mut found = None;
    for attr in attrs.iter().filter(|a| a.path().is_ident("serde")) {
        attr.parse_nested_meta(|meta| {
            let is_default = meta.path.is_ident("default");
            if meta.input.peek(syn::Token![=]) {
                let value: LitStr = meta.value()?.parse()?;
                if is_default {
                    found = Some(Some(value.parse::<syn::ExprPath>()?));
                }
            } else if is_default {
                found = Some(None);
            }
            Ok(())
        })?;
    }
    Ok(found)
}
