//! A field of a server-rendered form, as the console's and the applicant's pages lay them out: its
//! label and hint in the page's language, how it is typed in, what was typed, and the error beside it.

/// How a field is typed in.
pub enum Input {
    /// A line of text.
    Text,
    /// A date (`YYYY-MM-DD`).
    Date,
    /// An email address.
    Email,
    /// One of these values, each with its words.
    Choice(Vec<(&'static str, &'static str)>),
}

/// One field of a form.
pub struct Field {
    /// Its name in the form, and the contract's field name its errors carry.
    pub name: &'static str,
    /// Its label.
    pub label: &'static str,
    /// What to type, under the label.
    pub hint: Option<&'static str>,
    /// How it is typed in.
    pub input: Input,
    /// Whether it must be filled in.
    pub required: bool,
    /// What was typed.
    pub value: String,
    /// Why it was refused.
    pub error: Option<String>,
}

impl Field {
    /// A field, with no hint, `error` set if it is about this field.
    pub fn new(
        name: &'static str,
        label: &'static str,
        input: Input,
        required: bool,
        value: &str,
        error: Option<&(&'static str, String)>,
    ) -> Self {
        Self {
            name,
            label,
            hint: None,
            input,
            required,
            value: value.to_owned(),
            error: error.filter(|(n, _)| *n == name).map(|(_, m)| m.clone()),
        }
    }

    /// With a hint under the label.
    pub fn hint(mut self, hint: &'static str) -> Self {
        self.hint = Some(hint);
        self
    }
}

/// The error of `error` that is about none of `fields`: the page's own.
pub fn general_error(fields: &[Field], error: Option<&(&'static str, String)>) -> Option<String> {
    error
        .filter(|(n, _)| !fields.iter().any(|f| f.name == *n))
        .map(|(_, m)| m.clone())
}
