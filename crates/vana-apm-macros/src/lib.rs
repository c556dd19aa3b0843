//! The `#[trace]` attribute of `vana-apm`, re-exported as `vana_apm::trace`.
//!
//! `#[trace]` times a function (sync or `async`) into the global APM (`vana_apm::set_global`) as
//! `response_time.<module path>::<function>`; `#[trace(name = "checkout")]` names the operation. A function
//! that returns `Err` is recorded as a failure, with the error's type as its kind; a panic too. With no
//! global APM set, the attribute costs one atomic load.
//!
//! ```ignore
//! #[vana_apm::trace(name = "search")]
//! async fn search(query: &str) -> Result<Vec<Hit>, SearchError> { ... }
//! ```
//!
//! # Feature flags
//!
//! None.

use proc_macro::TokenStream;
use quote::quote;
use syn::{Expr, ItemFn, Lit, MetaNameValue, ReturnType, Token, parse_macro_input, punctuated::Punctuated};

/// Times the function into the global APM; see the crate docs.
#[proc_macro_attribute]
pub fn trace(attr: TokenStream, item: TokenStream) -> TokenStream {
    let args = parse_macro_input!(attr with Punctuated::<MetaNameValue, Token![,]>::parse_terminated);
    let function = match syn::parse::<ItemFn>(item.clone()) {
        Ok(function) => function,
        Err(_) => {
            let item = proc_macro2::TokenStream::from(item);
            return syn::Error::new_spanned(
                item,
                "#[trace] times functions: put it on a `fn` (sync or async)",
            )
            .to_compile_error()
            .into();
        }
    };
    let mut name = None;
    for arg in &args {
        match (&arg.path, &arg.value) {
            (path, Expr::Lit(literal)) if path.is_ident("name") => {
                if let Lit::Str(text) = &literal.lit {
                    name = Some(text.value());
                    continue;
                }
                return syn::Error::new_spanned(arg, "`name` takes a string: #[trace(name = \"checkout\")]")
                    .to_compile_error()
                    .into();
            }
            _ => {
                return syn::Error::new_spanned(arg, "unknown argument; #[trace] takes `name = \"...\"`")
                    .to_compile_error()
                    .into();
            }
        }
    }
    let ItemFn { attrs, vis, sig, block } = function;
    let function_name = sig.ident.to_string();
    let name = match name {
        Some(name) => quote!(#name),
        None => quote!(::core::concat!(::core::module_path!(), "::", #function_name)),
    };
    // Annotate the body's type so `?` and `return` keep their meaning, unless it is `impl Trait` (which a
    // closure or block cannot name).
    let output = match &sig.output {
        ReturnType::Default => Some(quote!(())),
        ReturnType::Type(_, ty) if quote!(#ty).to_string().contains("impl ") => None,
        ReturnType::Type(_, ty) => Some(quote!(#ty)),
    };
    let annotation = output.as_ref().map(|ty| quote!(: #ty));
    let closure_output = output.as_ref().map(|ty| quote!(-> #ty));
    let body = if sig.asyncness.is_some() {
        quote! {
            let __vana_span = ::vana_apm::__private::enter(#name);
            let __vana_result #annotation = async move #block.await;
            ::vana_apm::__private::finish(__vana_span, {
                #[allow(unused_imports)]
                use ::vana_apm::__private::{AnyOutcome as _, ErrOutcome as _};
                (&__vana_result).__vana_outcome()
            });
            __vana_result
        }
    } else {
        quote! {
            let __vana_span = ::vana_apm::__private::enter(#name);
            #[allow(clippy::redundant_closure_call)]
            let __vana_result #annotation = (move || #closure_output #block)();
            ::vana_apm::__private::finish(__vana_span, {
                #[allow(unused_imports)]
                use ::vana_apm::__private::{AnyOutcome as _, ErrOutcome as _};
                (&__vana_result).__vana_outcome()
            });
            __vana_result
        }
    };
    quote!(#(#attrs)* #vis #sig { #body }).into()
}
