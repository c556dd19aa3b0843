#![doc = include_str!("../README.md")]

use proc_macro::TokenStream;
use quote::quote;
use syn::{Expr, ItemFn, Lit, MetaNameValue, ReturnType, Token, parse_macro_input, punctuated::Punctuated};

/// Times the function into the global APM; see the crate docs.
#[proc_macro_attribute]
pub fn trace(attr: TokenStream, item: TokenStream) -> TokenStream {
    let args = parse_macro_input!(attr with Punctuated::<MetaNameValue, Token![,]>::parse_terminated);
    let Ok(function) = syn::parse::<ItemFn>(item.clone()) else {
        let item = proc_macro2::TokenStream::from(item);
        let message = "#[trace] times functions: put it on a `fn` (sync or async)";
        return syn::Error::new_spanned(item, message).to_compile_error().into();
    };
    match operation_name(&args) {
        Ok(name) => timed(function, name).into(),
        Err(error) => error.to_compile_error().into(),
    }
}

/// The `name = "..."` argument, if given; any other argument is an error.
fn operation_name(args: &Punctuated<MetaNameValue, Token![,]>) -> syn::Result<Option<String>> {
    let mut name = None;
    for arg in args {
        match (&arg.path, &arg.value) {
            (path, Expr::Lit(literal)) if path.is_ident("name") => {
                let Lit::Str(text) = &literal.lit else {
                    return Err(syn::Error::new_spanned(
                        arg,
                        "`name` takes a string: #[trace(name = \"checkout\")]",
                    ));
                };
                name = Some(text.value());
            }
            _ => {
                return Err(syn::Error::new_spanned(
                    arg,
                    "unknown argument; #[trace] takes `name = \"...\"`",
                ));
            }
        }
    }
    Ok(name)
}

/// `function` with its body timed as operation `name` (by default `module::function`).
fn timed(function: ItemFn, name: Option<String>) -> proc_macro2::TokenStream {
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
    let (allow, run) = if sig.asyncness.is_some() {
        (None, quote!(::vana_apm::__private::span(#name).instrument(async move #block).await))
    } else {
        let run = quote!({
            let __vana_trace = ::vana_apm::__private::span(#name);
            let __vana_entered = __vana_trace.enter();
            (move || #closure_output #block)()
        });
        (Some(quote!(#[allow(clippy::redundant_closure_call)])), run)
    };
    quote! {
        #(#attrs)* #vis #sig {
            let __vana_span = ::vana_apm::__private::enter(#name);
            #allow
            let __vana_result #annotation = #run;
            ::vana_apm::__private::finish(__vana_span, {
                #[allow(unused_imports)]
                use ::vana_apm::__private::{AnyOutcome as _, ErrOutcome as _};
                (&__vana_result).__vana_outcome()
            });
            __vana_result
        }
    }
}
